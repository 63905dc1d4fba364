//! The binary embeds target/site (see src/assets.rs): rebuild it whenever the site changes.
fn main() {
    println!("cargo:rerun-if-changed=../target/site");
}
