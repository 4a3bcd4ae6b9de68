#!/bin/sh
# check-layers.sh: fail when a file of harness/ reaches into a layer above
# its own (make check-layers; run by .ci/run).
#
# The layers, bottom up (DESIGN.md section 6; README "Layers"):
#   platform core sync loop report explore cc
# A file in harness/<layer>/ may include its own layer's header and those
# of the layers below, never one above. Two checks:
#   1. includes: every #include "<layer>/..." names a layer at or below
#      the file's own;
#   2. names: no file mentions a weft__ name that only a higher layer's
#      header declares (a hand-written prototype or a macro would slip
#      past the include check).
# Each offence is printed as file:line: what; the status is 1 if any.
set -u

cd "$(dirname "$0")/.." || exit 2

layers="platform core sync loop report explore cc"

rank()
{
	i=0
	for l in $layers; do
		i=$((i + 1))
		if [ "$l" = "$1" ]; then
			echo $i
			return
		fi
	done
	echo 0
}

bad=0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# Every file must live in a layer's folder.
for f in harness/*.c harness/*.h harness/*.S; do
	[ -e "$f" ] || continue
	echo "$f: outside every layer: move it into harness/<layer>/"
	bad=1
done

# 1. includes
for l in $layers; do
	r=$(rank "$l")
	for f in harness/"$l"/*.c harness/"$l"/*.h harness/"$l"/*.S; do
		[ -e "$f" ] || continue
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' > "$tmp/inc"
		while read -r line path; do
			case $path in
			*/*) inc=${path%%/*} ;;
			internal.h)
				echo "$f:$line: includes \"$path\", which is gone: include your layer's header"
				bad=1
				continue ;;
			*) continue ;; # a header of its own folder, or public
			esac
			ir=$(rank "$inc")
			[ "$ir" -eq 0 ] && continue # weft/cmocka.h and the like
			if [ "$ir" -gt "$r" ]; then
				echo "$f:$line: layer '$l' includes \"$path\" of layer '$inc' above it"
				bad=1
			fi
		done < "$tmp/inc"
	done
done

# 2. names: weft__ identifiers each layer's header adds to those below.
: > "$tmp/below"
for l in $layers; do
	h=harness/$l/$l.h
	[ -f "$h" ] || continue
	grep -o 'weft__[A-Za-z0-9_]*' "$h" | sort -u > "$tmp/all.$l"
	comm -23 "$tmp/all.$l" "$tmp/below" > "$tmp/own.$l"
	sort -u "$tmp/below" "$tmp/all.$l" -o "$tmp/below"
done
for l in $layers; do
	[ -f "$tmp/own.$l" ] || continue
	r=$(rank "$l")
	for low in $layers; do
		[ "$(rank "$low")" -lt "$r" ] || continue
		for f in harness/"$low"/*.c harness/"$low"/*.h; do
			[ -e "$f" ] || continue
			grep -n -o -w -F -f "$tmp/own.$l" "$f" 2>/dev/null |
				while IFS=: read -r line name; do
					echo "$f:$line: layer '$low' names $name, which only harness/$l/$l.h (above it) declares"
				done > "$tmp/hits"
			if [ -s "$tmp/hits" ]; then
				cat "$tmp/hits"
				bad=1
			fi
		done
	done
done

if [ "$bad" -ne 0 ]; then
	echo "check-layers: a layer reaches above itself (see above)"
	exit 1
fi
echo "check-layers: every file uses only its own layer and those below ($layers)"
