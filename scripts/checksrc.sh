#!/usr/bin/env bash
# checksrc.sh - house-style checks on src/: banned calls, C++ comments, a
# purpose comment at the top of each .c file, function length (soft cap 60
# lines, hard cap 80 unless the function is preceded by a comment saying why),
# each external library included by one file alone, and no include cycle
# between modules.
set -u
cd "$(dirname "$0")/.."
fail=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|strtok|FCGX_FPrintF)[[:space:]]*\('
if grep -nE "$banned" src/*.c src/*/*.c src/*/*.h; then
	echo "checksrc: banned call (use snprintf/util_strlcpy/util_parse_long)"
	fail=1
fi
if grep -nE '(^|[^:"])//' src/*.c src/*/*.c src/*/*.h | grep -vE '"[^"]*//[^"]*"'; then
	echo "checksrc: use /* */ comments"
	fail=1
fi
for f in src/*.c src/*/*.c; do
	if ! head -n 1 "$f" | grep -q '^/\*'; then
		echo "checksrc: $f does not open with a purpose comment"
		fail=1
	fi
done
# Each external library behind exactly one module: its headers in one file.
for lib in curl/ fcgiapp.h json-c/ openssl/; do
	users=$(grep -lE "^#[[:space:]]*include[[:space:]]*<$lib" src/*.c src/*/*.[ch] | sort -u)
	if [ "$(printf '%s' "$users" | grep -c .)" -gt 1 ]; then
		echo "checksrc: <$lib...> included by more than one file:" $users
		fail=1
	fi
done
# Dependency direction: the includes between modules (x.c, x.h and x_int.h
# are module x) form no cycle.
deps=$(for f in src/*.c src/*/*.[ch]; do
	from=$(basename "$f"); from=${from%.?}; from=${from%_int}
	sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
		sed 's/_int$//' | while read -r to; do
			[ "$to" != "$from" ] && echo "$from $to"
		done
done)
loop=$(printf '%s\n' "$deps" | tsort 2>&1 >/dev/null | grep -v 'input contains a loop')
if [ -n "$loop" ]; then
	echo "checksrc: include cycle between modules:" $(printf '%s\n' "$loop" | sed 's/^tsort: //')
	fail=1
fi
# Function length: from a line starting with '{' to the next line starting with '}'.
awk '
	FNR == 1 { start = 0 }
	/^\{/ { start = FNR; name = prev }
	/^\}/ && start {
		n = FNR - start - 1
		if (n > 80 && prevcomment[FILENAME, name] == 0) {
			printf "checksrc: %s: %s is %d lines (over 80)\n", FILENAME, name, n
			bad = 1
		}
		start = 0
	}
	{ prev = $0 }
	END { exit bad }
' src/*.c src/*/*.c || fail=1
if [ $fail -eq 0 ]; then
	echo "checksrc: ok"
fi
exit $fail
