//! Compiles the protocol files in `<workspace>/proto` with protox (no system `protoc`) and
//! generates prost messages plus tonic clients and servers into `OUT_DIR`.

use std::path::PathBuf;

/// The protocol files, relative to the `proto/` include root.
const PROTOS: &[&str] = &[
    "thanos/store/types.proto",
    "thanos/store/rpc.proto",
    "thanos/info/rpc.proto",
    "thanos/hints/hints.proto",
    "prometheus/types.proto",
    "prometheus/remote.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| proto_root.join(p)).collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&proto_root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Chunk data and other bytes fields decode as `Bytes`, so chunks pass through without copies.
        .bytes(".")
        // Presized encode buffers (`storeapi::codec`); the wire format is prost's.
        .codec_path("crate::codec::PresizedCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
