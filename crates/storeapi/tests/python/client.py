#!/usr/bin/env python3
"""A StoreAPI client not written in Rust: generates Python stubs from our proto/ with
grpcio-tools into a temporary directory, then calls Info (both RPCs), Series, LabelNames and
LabelValues on ADDRESS and prints the answers as one JSON document on stdout.

Usage: client.py --proto-dir <workspace>/proto ADDRESS
The Rust test tests/python_client.rs runs it against the in-process test server and compares
the JSON with what the Rust client sees.
"""

import argparse
import importlib
import importlib.resources
import json
import sys
import tempfile

import grpc
from grpc_tools import protoc

PROTOS = [
    "thanos/store/types.proto",
    "thanos/store/rpc.proto",
    "thanos/info/rpc.proto",
    "thanos/hints/hints.proto",
    "prometheus/types.proto",
    "prometheus/remote.proto",
]

MAX_MESSAGE_SIZE = 2**31 - 1  # as Thanos' gRPC clients


def generate_stubs(proto_dir: str, out_dir: str) -> None:
    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTOS,
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed on {proto_dir}")


def labels(pb_labels) -> list:
    return [[label.name, label.value] for label in pb_labels]


def series_json(series) -> dict:
    chunks = []
    for chunk in series.chunks:
        raw = chunk.raw if chunk.HasField("raw") else None
        chunks.append(
            {
                "min_time": chunk.min_time,
                "max_time": chunk.max_time,
                "type": raw.type if raw else None,
                "data": raw.data.hex() if raw else None,
                "hash": raw.hash if raw else None,
            }
        )
    return {"labels": labels(series.labels), "chunks": chunks}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("address")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="storeapi-stubs-") as out_dir:
        generate_stubs(args.proto_dir, out_dir)
        sys.path.insert(0, out_dir)
        store_pb = importlib.import_module("thanos.store.rpc_pb2")
        types_pb = importlib.import_module("thanos.store.types_pb2")
        store_grpc = importlib.import_module("thanos.store.rpc_pb2_grpc")
        info_pb = importlib.import_module("thanos.info.rpc_pb2")
        info_grpc = importlib.import_module("thanos.info.rpc_pb2_grpc")

        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
            ("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
        ]
        with grpc.insecure_channel(args.address, options=options) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            store = store_grpc.StoreStub(channel)
            info_api = info_grpc.InfoStub(channel)

            info = info_api.Info(info_pb.InfoRequest(), timeout=10)
            store_info = info.store if info.HasField("store") else None
            legacy = store.Info(store_pb.InfoRequest(), timeout=10)

            all_names = types_pb.LabelMatcher(type=types_pb.LabelMatcher.RE, name="__name__", value=".+")
            up = types_pb.LabelMatcher(type=types_pb.LabelMatcher.EQ, name="__name__", value="up")

            def series(**extra) -> list:
                request = store_pb.SeriesRequest(min_time=0, max_time=2**63 - 1, matchers=[all_names], **extra)
                out = []
                for frame in store.Series(request, timeout=10):
                    kind = frame.WhichOneof("result")
                    if kind == "series":
                        out.append(series_json(frame.series))
                    elif kind == "batch":
                        out.extend(series_json(s) for s in frame.batch.series)
                return out

            names = store.LabelNames(
                store_pb.LabelNamesRequest(start=0, end=2**63 - 1, matchers=[up]), timeout=10
            )
            values = store.LabelValues(
                store_pb.LabelValuesRequest(label="job", start=0, end=2**63 - 1, matchers=[all_names]), timeout=10
            )

            result = {
                "info": {
                    "component_type": info.ComponentType,
                    "label_sets": [labels(s.labels) for s in info.label_sets],
                    "store": None
                    if store_info is None
                    else {
                        "min_time": store_info.min_time,
                        "max_time": store_info.max_time,
                        "supports_sharding": store_info.supports_sharding,
                        "supports_without_replica_labels": store_info.supports_without_replica_labels,
                        "tsdb_infos": [
                            {"labels": labels(t.labels.labels), "min_time": t.min_time, "max_time": t.max_time}
                            for t in store_info.tsdb_infos
                        ],
                    },
                },
                "legacy_info": {
                    "labels": labels(legacy.labels),
                    "min_time": legacy.min_time,
                    "max_time": legacy.max_time,
                    "store_type": store_pb.StoreType.Name(legacy.storeType),
                    "label_sets": [labels(s.labels) for s in legacy.label_sets],
                },
                "series": series(),
                "series_batched": series(response_batch_size=2, without_replica_labels=["replica"]),
                "label_names": list(names.names),
                "label_values": list(values.values),
                "label_values_warnings": list(values.warnings),
            }
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
