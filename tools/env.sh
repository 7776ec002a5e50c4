#!/usr/bin/env bash
# Set up the suite's environment once, then run a command inside it:
#   bash tools/env.sh python tools/describe_backbones.py
#
# The virtual environment holds only the pinned dependencies of pyproject.toml and lives in a per-user cache keyed
# by their hash, so every clone on the machine (CI's included) reuses it; the code always comes from the calling
# checkout through PYTHONPATH. mmcv 2.1.0 has no wheel on PyPI: it is taken from a wheel cache when a cached wheel
# passes the checks below, otherwise built from the PyPI sdist and stored in that cache.
#
# Settings (environment variables):
#   TRICKS_PYTHON       interpreter to build the venv from          (default: python3.11)
#   TRICKS_CACHE        root of the per-user cache                  (default: ${XDG_CACHE_HOME:-~/.cache}/bag-of-tricks)
#   TRICKS_VENV         the virtual environment                     (default: $TRICKS_CACHE/venv-<hash of the pins>)
#   TRICKS_WHEEL_CACHE  extra folders (':'-separated) searched for an mmcv wheel after $TRICKS_CACHE/wheels, where
#                       built wheels are stored (CI adds ../shared/wheels)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${TRICKS_PYTHON:-python3.11}
cache=${TRICKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bag-of-tricks}
own_wheels=$cache/wheels
wheel_dirs=$own_wheels${TRICKS_WHEEL_CACHE:+:$TRICKS_WHEEL_CACHE}

work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT
log() { printf '[env] %s\n' "$*" >&2; }
die() { printf '[env] error: %s\n' "$*" >&2; exit 1; }

command -v "$py" >/dev/null || die "$py not found (set TRICKS_PYTHON to a Python 3.11 interpreter)"

# Pins, read from pyproject.toml: core + extras; mmcv is handled apart from the rest.
pins=$("$py" - "$repo/pyproject.toml" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
reqs = list(project["dependencies"])
for extra in project["optional-dependencies"].values():
    reqs += extra
print("\n".join(r.split("#")[0].strip() for r in reqs))
EOF
)
mmcv_pin=$(grep '^mmcv==' <<<"$pins") || die "pyproject.toml pins no mmcv version"
mmcv_version=${mmcv_pin#mmcv==}
torch_pin=$(grep '^torch==' <<<"$pins") || die "pyproject.toml pins no torch version"
key=$({ echo "$pins"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-12)
venv=${TRICKS_VENV:-$cache/venv-$key}
vpy=$venv/bin/python

# Does the venv's mmcv carry compiled ops that work on this machine (CUDA ops too where a GPU is visible)?
mmcv_ok() {
    "$vpy" - <<'EOF' 2>/dev/null
import torch, mmcv, mmcv._ext  # noqa: F401  (a build can succeed without its compiled ops)
from mmcv.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
scores = torch.tensor([0.9, 0.8])
devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
for device in devices:
    _, keep = nms(boxes.to(device), scores.to(device), 0.5)
    assert keep.tolist() == [0], keep
EOF
}

build_mmcv() {  # $1: output folder. Builds in a throwaway env that borrows the venv's torch.
    local out=$1
    work=$(mktemp -d)  # global, for the EXIT trap
    log "building mmcv $mmcv_version from the PyPI sdist (about 20 min on 2 cores; once per machine)"
    "$py" -m venv "$work/build-env"
    # setuptools<70 and --no-build-isolation are what mmcv 2.1.0's setup.py needs; the project's venv keeps the
    # setuptools>=77 that torch 2.14 declares. The build env sees the venv's packages through a .pth file, after its own.
    "$work/build-env/bin/python" -m pip install -q "setuptools<70" wheel ninja
    "$vpy" -c 'import site; print(site.getsitepackages()[0])' \
        >"$("$work/build-env/bin/python" -c 'import site; print(site.getsitepackages()[0])')/project-venv.pth"
    "$work/build-env/bin/python" -m pip download -q --no-deps --no-binary :all: -d "$work" "$mmcv_pin"
    tar -xzf "$work"/mmcv-"$mmcv_version".tar.gz -C "$work"
    local src=$work/mmcv-$mmcv_version
    # torch 2.14's headers need C++20.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    grep -q 'c++20' "$src/setup.py" || die "mmcv's setup.py no longer sets -std=c++17; review the build recipe"
    local cuda=0
    if "$vpy" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then cuda=1; fi
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=$cuda MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$work/build-env/bin/python" -m pip wheel -q --no-build-isolation --no-deps -w "$work/dist" .)
    mkdir -p "$out"
    cp "$work"/dist/mmcv-*.whl "$out/"
    log "stored $(basename "$work"/dist/mmcv-*.whl) in $out"
    rm -rf "$work"
}

install_mmcv() {
    local dir whl
    IFS=: read -r -a dirs <<<"$wheel_dirs"
    # A cached wheel is trusted only if it passes mmcv_ok here: a CPU-only wheel is refused on a CUDA machine.
    for dir in "${dirs[@]}"; do
        for whl in "$dir"/mmcv-"$mmcv_version"-cp311-*.whl "$dir"/*/mmcv-"$mmcv_version"-cp311-*.whl; do
            [ -f "$whl" ] || continue
            log "trying cached $whl"
            "$vpy" -m pip install -q --force-reinstall --no-deps "$whl"
            if mmcv_ok; then return 0; fi
            log "  refused: its compiled ops do not work here"
        done
    done
    local flavour=cpu
    "$vpy" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' && flavour=cuda
    local out=$own_wheels/$(sed 's/==/-/' <<<"$torch_pin")-$flavour
    build_mmcv "$out"
    "$vpy" -m pip install -q --force-reinstall --no-deps "$out"/mmcv-"$mmcv_version"-*.whl
    mmcv_ok || die "the mmcv build in $out has no working compiled ops (mmcv._ext)"
}

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9  # one set-up at a time per venv; a second caller waits, then finds it complete
if [ ! -f "$venv/.complete" ]; then
    log "creating $venv"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$vpy" -m pip install -q --upgrade pip
    # Everything but mmcv and what requires it, so that pip never tries to build mmcv itself.
    "$vpy" -m pip install -q $(grep -v -E '^(mmcv|mmdet|mmsegmentation)==' <<<"$pins") \
        addict yapf packaging pyyaml opencv-python
    install_mmcv
    "$vpy" -m pip install -q $(grep -E '^(mmdet|mmsegmentation)==' <<<"$pins")
    "$vpy" -c 'import mmcv._ext, mmdet.models, mmseg.models, timm, torchvision' \
        || die "the environment in $venv does not import; remove it and rerun"
    touch "$venv/.complete"
    log "environment ready"
fi
flock -u 9
exec 9>&-

export TRICKS_CACHE="$cache"  # cls.data.default_cache_dir() keeps decoded image sets under it
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$venv/bin:$PATH"
cd "$repo"
[ $# -gt 0 ] || { echo "$venv"; exit 0; }
exec "$@"
