#!/usr/bin/env bash
# Checks that every native library exports the same JNI entry points (Java_* symbols) as the
# Linux one: the Java side binds the same native methods on every system, so a missing symbol
# fails at its first call and an extra one means the library was built from other sources.
#
# Usage: .ci/check-exports.sh LINUX_LIBRARY OTHER_LIBRARY...
#   ELF (.so), Mach-O (.dylib, each architecture of a universal one) and PE (.dll) are read
#   with llvm-nm / llvm-readobj (the system's, or rustup's llvm-tools), or nm for ELF.
# Exits 0 when every set matches; otherwise prints each difference and exits 1 (2 on misuse).
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 LINUX_LIBRARY OTHER_LIBRARY..." >&2
    exit 2
fi

# The first of the named LLVM tools found on PATH or in rustup's llvm-tools component.
llvm_tool() {
    local name=$1 found
    for found in "$name" $(compgen -c "$name-" 2>/dev/null | sort -rV); do
        command -v "$found" >/dev/null 2>&1 && { echo "$found"; return 0; }
    done
    found=$(ls "$(rustc --print sysroot 2>/dev/null)"/lib/rustlib/*/bin/"$name" 2>/dev/null | head -1)
    [ -n "$found" ] && { echo "$found"; return 0; }
    return 1
}

NM=$(llvm_tool llvm-nm) || NM=""
READOBJ=$(llvm_tool llvm-readobj) || READOBJ=""

# Prints "ARCH SYMBOL" for each Java_* symbol LIBRARY exports; ARCH is "-" except in universal
# Mach-O libraries, where each architecture is listed on its own.
exports() {
    local lib=$1 magic
    magic=$(od -An -tx1 -N4 "$lib" | tr -d ' \n')
    case "$magic" in
        7f454c46) # ELF: the dynamic symbol table
            if [ -n "$NM" ]; then "$NM" -D --defined-only "$lib"; else nm -D --defined-only "$lib"; fi |
                awk '{ print "-", $NF }'
            ;;
        cffaedfe | cefaedfe | cafebabe | bebafeca) # Mach-O, thin or universal
            [ -n "$NM" ] || { echo "no llvm-nm to read Mach-O $lib" >&2; return 1; }
            # C names carry a leading underscore in Mach-O
            # (every architecture: by default llvm-nm shows only the host's of a universal file)
            "$NM" --arch=all --defined-only --extern-only "$lib" |
                awk '/\(for architecture .*\):$/ { arch = $NF; sub(/\):$/, "", arch); next }
                     NF >= 3 { sym = $NF; sub(/^_/, "", sym); print (arch == "" ? "-" : arch), sym }'
            ;;
        4d5a*) # PE: the export table
            [ -n "$READOBJ" ] || { echo "no llvm-readobj to read PE $lib" >&2; return 1; }
            "$READOBJ" --coff-exports "$lib" | awk '$1 == "Name:" { print "-", $2 }'
            ;;
        *)
            echo "$lib: not an ELF, Mach-O or PE library" >&2
            return 1
            ;;
    esac | awk '$2 ~ /^Java_/' | sort -u
}

linux=$1
shift
reference=$(exports "$linux") || exit 2
if [ -z "$reference" ]; then
    echo "$linux exports no Java_ symbols" >&2
    exit 2
fi
reference=$(cut -d' ' -f2 <<<"$reference")
echo "$linux: $(wc -l <<<"$reference") Java_ symbols"

status=0
for lib in "$@"; do
    listing=$(exports "$lib") || { status=1; continue; }
    for arch in $(cut -d' ' -f1 <<<"$listing" | sort -u); do
        label=$lib
        [ "$arch" = "-" ] || label="$lib ($arch)"
        symbols=$(awk -v a="$arch" '$1 == a { print $2 }' <<<"$listing")
        difference=$(diff <(echo "$reference") <(echo "$symbols") | grep '^[<>]')
        if [ -z "$difference" ]; then
            echo "$label: the same $(wc -l <<<"$symbols") Java_ symbols"
        else
            echo "$label differs from $linux (< only in $linux, > only in $lib):"
            echo "$difference"
            status=1
        fi
    done
    [ -n "$listing" ] || { echo "$lib exports no Java_ symbols"; status=1; }
done
exit $status
