# Shared by scripts/run and scripts/test: install only what this machine lacks, build the site.
# Sourced, not run.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_toolchain() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        say "adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
    local want; want="$(wasm_bindgen_version)"
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
        say "installing wasm-bindgen-cli $want (a few minutes, once)"
        cargo install wasm-bindgen-cli --version "$want" --force
    fi
}

# Builds the hydration bundle and static files into target/site (what LEPTOS_SITE_ROOT names).
# $1: cargo profile for the wasm (dev or wasm-release).
build_site() {
    local profile="${1:-wasm-release}" dir
    ensure_wasm_toolchain
    say "building the site (wasm, $profile)"
    cargo build -p gatehouse-app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --profile "$profile"
    dir="$profile"; [ "$profile" = dev ] && dir=debug
    rm -rf target/site/pkg && mkdir -p target/site/pkg
    wasm-bindgen "target/wasm32-unknown-unknown/$dir/gatehouse_app.wasm" --target web --no-typescript \
        --out-dir target/site/pkg --out-name gatehouse
    ensure_style_deps
    if [ "$profile" != dev ]; then
        say "shrinking the wasm (wasm-opt -Oz)"
        style/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
            --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
            target/site/pkg/gatehouse_bg.wasm -o target/site/pkg/gatehouse_bg.wasm
    fi
    style/node_modules/.bin/tailwindcss --input style/main.css --output target/site/pkg/gatehouse.css --minify
    # The dashboard's session replay player (npm's rrweb-player), loaded by the replay page only.
    cp style/node_modules/rrweb-player/dist/rrweb-player.umd.min.cjs target/site/pkg/rrweb-player.js
    cp style/node_modules/rrweb-player/dist/style.min.css target/site/pkg/rrweb-player.css
    cp -R public/. target/site/
    precompress target/site/pkg
}

# Brotli and gzip copies of the bundle beside each file, made once at build time; the server
# sends whichever the browser accepts.
precompress() {
    node - "$1" <<'JS'
const fs = require("fs"), path = require("path"), zlib = require("zlib");
const dir = process.argv[2];
for (const name of fs.readdirSync(dir)) {
    if (!/\.(wasm|js|css)$/.test(name)) continue;
    const data = fs.readFileSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name + ".br"), zlib.brotliCompressSync(data, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    }));
    fs.writeFileSync(path.join(dir, name + ".gz"), zlib.gzipSync(data, { level: 9 }));
}
JS
}

# The Tailwind CLI (npm) that builds the site's CSS, and binaryen's wasm-opt.
ensure_style_deps() {
    if [ ! -x style/node_modules/.bin/tailwindcss ] || [ style/package-lock.json -nt style/node_modules/.package-lock.json ]; then
        say "installing the Tailwind CLI"
        # Not `npm ci`: npm leaves other platforms' optional native packages out of the lock,
        # and `npm ci` then refuses it. `--no-save` still follows the lock and writes nothing.
        (cd style && npm install --no-save --no-audit --no-fund)
    fi
}

# npm packages for end2end/ (the Stack SDK releases, jose) and the Python client's venv.
ensure_end2end_deps() {
    if [ ! -d end2end/node_modules ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
        say "installing end2end npm packages"
        (cd end2end && npm ci --no-audit --no-fund)
    fi
    if [ ! -x end2end/.venv/bin/pytest ] || [ end2end/python/requirements.txt -nt end2end/.venv/installed ]; then
        say "installing the Python client's packages"
        python3 -m venv end2end/.venv
        end2end/.venv/bin/pip install --quiet --disable-pip-version-check -r end2end/python/requirements.txt
        touch end2end/.venv/installed
    fi
}

# Debian's Chromium for the browser tests (never a downloaded browser).
ensure_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        say "installing Debian's chromium"
        apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
    fi
}
