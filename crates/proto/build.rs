//! Compiles `proto/` with protox (pure Rust, so no system `protoc` is needed), generates the
//! prost messages and tonic clients and servers, and writes the descriptor set that the
//! reflection service publishes.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    // tonic-prost-build no longer prints this itself; without it every build reruns the script.
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let mut files = Vec::new();
    collect_protos(&proto_root, &mut files)?;
    files.sort();

    let descriptors = protox::Compiler::new([&proto_root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(&files)?
        .file_descriptor_set();

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("campus_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Default UNIMPLEMENTED bodies let a partial implementation (a test double of one
        // method) compile; every Campus service implements every method of its contract.
        .generate_default_stubs(true)
        // Undecodable requests are INVALID_ARGUMENT, not prost's INTERNAL (see `codec.rs`).
        .codec_path("crate::codec::CampusCodec")
        .compile_fds(descriptors)?;
    Ok(())
}

/// Every `.proto` file under `dir`, as paths relative to nothing (protox resolves them against
/// the include root).
fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
