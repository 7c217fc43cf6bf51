//! Generates the gRPC code from `proto/` with a vendored protoc (no system install needed),
//! plus a file descriptor set for the reflection service.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let include = protoc_bin_vendored::include_path()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "events.proto",
        "ingest.proto",
        "query.proto",
        "attribution.proto",
        "handoff.proto",
        "privacy.proto",
        "identity.proto",
    ]
    .map(|f| root.join("leadledger/v1").join(f));
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .codec_path("crate::codec::ValidatingCodec")
        .file_descriptor_set_path(out.join("leadledger_descriptor.bin"))
        .compile_protos(&files, &[root.clone(), include])?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
