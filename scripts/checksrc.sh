#!/usr/bin/env bash
# checksrc.sh - house-style checks on src/: banned calls, C++ comments, a
# purpose comment at the top of each .c file, and function length (soft cap 60
# lines, hard cap 80 unless the function is preceded by a comment saying why).
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
