//! The migrations are embedded by `sqlx::migrate!`: rebuild the core when one changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
