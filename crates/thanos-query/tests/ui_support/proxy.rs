//! A reverse proxy like Traefik with a strip-prefix middleware: requests under `prefix` are
//! forwarded without it and with `X-Forwarded-Prefix: prefix`; anything else is a 404. It records
//! every request target it saw, so a test can tell the UI stayed under the prefix.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy.
pub(crate) struct PrefixProxy {
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl PrefixProxy {
    /// Proxies `127.0.0.1:<port><prefix>/…` to `127.0.0.1:<upstream>/…`.
    pub(crate) fn start(prefix: &'static str, upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = forward(client, prefix, upstream, &log);
                });
            }
        });
        Self { port, seen }
    }

    /// Every request target received, in order.
    pub(crate) fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("proxy log").clone()
    }
}

fn forward(
    mut client: TcpStream,
    prefix: &str,
    upstream: u16,
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().splitn(3, ' ');
    let (method, target, version) = (
        request_line.next().unwrap_or(""),
        request_line.next().unwrap_or(""),
        request_line.next().unwrap_or(""),
    );
    seen.lock().expect("proxy log").push(target.to_string());
    let stripped = match target.strip_prefix(prefix) {
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("/{rest}"),
        _ => {
            client.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
            )?;
            return Ok(());
        }
    };
    let mut request = format!("{method} {stripped} {version}\r\n");
    let mut content_length = 0usize;
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if name == "content-length" {
            content_length = line.split(':').nth(1).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        }
        if name != "connection" && name != "x-forwarded-prefix" && name != "keep-alive" {
            request.push_str(line);
            request.push_str("\r\n");
        }
    }
    request.push_str(&format!("X-Forwarded-Prefix: {prefix}\r\nConnection: close\r\n\r\n"));

    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(request.as_bytes())?;
    let body_read = buffer.len() - head_end;
    server.write_all(&buffer[head_end..])?;
    let mut body_left = content_length.saturating_sub(body_read);
    while body_left > 0 {
        let n = client.read(&mut chunk[..body_left.min(8192)])?;
        if n == 0 {
            break;
        }
        server.write_all(&chunk[..n])?;
        body_left -= n;
    }
    std::io::copy(&mut server, &mut client)?;
    client.shutdown(Shutdown::Both)
}
