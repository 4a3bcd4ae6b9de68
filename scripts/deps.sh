#!/bin/sh
# deps.sh: the Debian packages weft needs, checked and installed by group.
#
#   sh scripts/deps.sh --check [GROUP...]  check GROUPs (default: build)
#   sh scripts/deps.sh --all               check every group
#   sh scripts/deps.sh --list [GROUP...]   print the packages of GROUPs
#
# Groups: build (compile and test), cross (aarch64 under qemu), coverage,
# format (clang-format for `make format`), fuzz (afl++, libFuzzer),
# libfuzzer (libFuzzer alone: `make fuzz-parser`, run by CI). A
# check looks for a file or a command each package provides, so it costs
# no apt call when all is present. If something is missing: as root it
# runs apt-get update and installs the missing packages; otherwise it
# prints the exact command to run and exits 1. `make test` runs --check.
set -eu

GROUPS_ALL="build cross coverage format fuzz libfuzzer"

group_packages()
{
    case $1 in
    build) echo "gcc clang make libcmocka-dev pkg-config valgrind" ;;
    cross)
        echo "gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user" \
            "libcmocka-dev:arm64"
        ;;
    coverage) echo "lcov" ;;
    format) echo "clang-format" ;;
    fuzz) echo "afl++ libclang-rt-14-dev" ;;
    libfuzzer) echo "clang libclang-rt-14-dev" ;;
    *)
        echo "deps.sh: unknown group '$1' (groups: $GROUPS_ALL)" >&2
        exit 2
        ;;
    esac
}

have()
{
    command -v "$1" >/dev/null 2>&1
}

# True if PACKAGE looks installed: probe something it ships, fall back to
# dpkg-query for a package without a probe.
present()
{
    case $1 in
    gcc) have gcc ;;
    clang) have clang ;;
    make) have make ;;
    libcmocka-dev) test -f /usr/include/cmocka.h ;;
    pkg-config) have pkg-config ;;
    valgrind) have valgrind ;;
    gcc-aarch64-linux-gnu) have aarch64-linux-gnu-gcc ;;
    libc6-dev-arm64-cross) test -f /usr/aarch64-linux-gnu/include/stdio.h ;;
    qemu-user) have qemu-aarch64 ;;
    libcmocka-dev:arm64) test -f /usr/lib/aarch64-linux-gnu/libcmocka.so ;;
    lcov) have lcov ;;
    clang-format) have clang-format ;;
    afl++) have afl-clang-fast && have afl-fuzz ;;
    libclang-rt-14-dev)
        ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a \
            >/dev/null 2>&1
        ;;
    *)
        dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
            grep -q ' installed$'
        ;;
    esac
}

mode=--check
case ${1-} in
--check | --all | --list)
    mode=$1
    shift
    ;;
-h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
-*)
    echo "deps.sh: unknown option '$1' (try --help)" >&2
    exit 2
    ;;
esac

if [ "$mode" = --all ]; then
    groups=$GROUPS_ALL
elif [ $# -gt 0 ]; then
    groups=$*
else
    groups=build
fi

wanted=
for g in $groups; do
    wanted="$wanted $(group_packages "$g")"
done

if [ "$mode" = --list ]; then
    # Unquoted on purpose: squeeze the list onto one line.
    # shellcheck disable=SC2086
    echo $wanted
    exit 0
fi

missing=
for p in $wanted; do
    present "$p" || missing="$missing $p"
done
missing=${missing# }

if [ -z "$missing" ]; then
    exit 0
fi

# The aarch64 tests link Debian's arm64 cmocka: a multiarch package.
add_arch=
case " $missing " in
*:arm64*)
    dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64 ||
        add_arch="dpkg --add-architecture arm64"
    ;;
esac

install_cmd="apt-get install -y --no-install-recommends $missing"

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: $missing" >&2
    echo "deps.sh: install them with:" >&2
    if [ -n "$add_arch" ]; then
        echo "    sudo $add_arch && sudo apt-get update &&" \
            "sudo $install_cmd" >&2
    else
        echo "    sudo apt-get update && sudo $install_cmd" >&2
    fi
    exit 1
fi

if ! have apt-get; then
    echo "deps.sh: missing packages: $missing" >&2
    echo "deps.sh: no apt-get here; install their equivalents by hand" >&2
    exit 1
fi

echo "deps.sh: installing: $missing"
if [ -n "$add_arch" ]; then
    $add_arch
fi
apt-get update
# $missing is a list of words on purpose.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    $missing

still=
for p in $missing; do
    present "$p" || still="$still $p"
done
if [ -n "$still" ]; then
    echo "deps.sh: installed, but still not found:$still" >&2
    exit 1
fi
