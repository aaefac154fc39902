# Source this file (`. scripts/toolchain.sh`) to put the project's Node first on PATH: the
# version in .nvmrc, installed from the npm registry into .toolchain/ the first time. Every
# npm command run afterwards in that shell (install, tests, benchmarks) runs on it.
# Needs any node and npm to bootstrap from; a machine already on that version uses its own.

_toolchain_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_toolchain_version="$(tr -d ' \n' < "$_toolchain_root/.nvmrc")"
_toolchain_dir="$_toolchain_root/.toolchain/node-$_toolchain_version"

if [ "$(node --version 2>/dev/null)" != "v$_toolchain_version" ]; then
  if [ ! -x "$_toolchain_dir/node_modules/.bin/node" ]; then
    echo "installing Node $_toolchain_version into .toolchain/" >&2
    mkdir -p "$_toolchain_dir"
    # The `node` package fetches the platform's binary in its preinstall script.
    printf '{"private": true, "allowScripts": {"node": true}}\n' > "$_toolchain_dir/package.json"
    (cd "$_toolchain_dir" && npm install --no-save --no-audit --no-fund --loglevel=error \
      "node@$_toolchain_version" >&2) || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_toolchain_dir/node_modules/.bin:$PATH"
fi
unset _toolchain_root _toolchain_version _toolchain_dir
