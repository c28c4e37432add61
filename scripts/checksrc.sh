#!/usr/bin/env bash
# checksrc.sh - house-style checks on src/: banned calls, C++ comments, a
# purpose comment at the top of each .c file, fatal() in main.c alone, no
# label but out:, its own header included first, header guards, function
# length (soft cap 60 lines, hard cap 80 unless the function is preceded by a
# comment saying why), each external library included by one file alone, no
# include cycle between modules, util/ and core/ including nothing of the
# layers above them, a contract comment naming every function a header
# declares and saying which threads may call it, a caller in another file for
# every function of a public header (else it is static, test-only in an _int.h
# header, or dead), no unused #define, and at most five parameters for every
# function definition and function-pointer declarator.
set -u
cd "$(dirname "$0")/.."
fail=0
# The code of a line, its comments removed; a comment left open goes on to
# the next line (incomment, which each awk program clears at a new file).
AWK_CODE='
	function code(line) {
		if (incomment) {
			if (line !~ /\*\//)
				return ""
			sub(/.*\*\//, "", line)
			incomment = 0
		}
		gsub(/\/\*([^*]|\*[^\/])*\*\//, "", line)
		if (line ~ /\/\*/) {
			sub(/\/\*.*/, "", line)
			incomment = 1
		}
		return line
	}
'
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
# fatal() and fatalx() exit: only main.c, before the loop runs, may call them.
if grep -nE '\bfatalx?[[:space:]]*\(' src/*/*.c | grep -v '^src/util/log.c:'; then
	echo "checksrc: fatal/fatalx outside main.c (return a status instead)"
	fail=1
fi
# Cleanup goes through one label, out: (a goto to any other is a second exit path).
if grep -nE '^[a-z_][a-z_0-9]*:' src/*.c src/*/*.c | grep -vE ':out:[[:space:]]*$'; then
	echo "checksrc: the only label is out:"
	fail=1
fi
# Each x.c includes its own header x.h first, where there is one; each
# header's guard is B2CAUTHY_<NAME>_H.
for f in src/*/*.c; do
	h=${f%.c}.h
	[ -f "$h" ] || continue
	first=$(grep -m 1 '^#[[:space:]]*include' "$f")
	if [ "$first" != "#include \"$(basename "$h")\"" ]; then
		echo "checksrc: $f does not include $(basename "$h") first"
		fail=1
	fi
done
for h in src/*/*.h; do
	guard=B2CAUTHY_$(basename "$h" .h | tr '[:lower:]' '[:upper:]')_H
	if ! grep -q "^#ifndef $guard\$" "$h" || ! grep -q "^#define $guard\$" "$h"; then
		echo "checksrc: $h is not guarded by $guard"
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
	case $from in handler_*) from=handlers ;; esac
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
# The two lowest layers include nothing above them: util/ only util/, core/
# only core/ and util/.
for layer in util:util core:core,util; do
	dir=${layer%%:*}
	for f in src/$dir/*.[ch]; do
		sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do
			home=$(cd src && ls -- */"$h" 2>/dev/null | head -n 1)
			case ",${layer#*:}," in *",${home%%/*},"*) ;; *)
				echo "checksrc: $f includes $home from a higher layer" ;;
			esac
		done
	done
done | grep . && fail=1
# Every prototype in a header has a contract comment naming it, just above
# its group of declarations (prototypes, macros and forward declarations
# without a blank line between them), that says which threads may call it
# (thread-safe, pure, the loop thread...), or the header's opening comment
# says it for all of them.
awk '
	FNR == 1 { incomment = 0; block = ""; depth = 0; top = "" }
	/^\/\*/ { block = ""; incomment = 1 }
	incomment {
		block = block " " $0
		if ($0 ~ /\*\//) {
			incomment = 0
			if (top == "")
				top = block
		}
		next
	}
	/^[[:space:]]*$/ { block = ""; next }
	/^(struct|enum|union)[^(;]*\{/ { depth = 1; block = ""; next }
	depth { if ($0 ~ /^\}/) depth = 0; next }
	/^[a-z][^(]*[a-z_0-9]\(/ && !/^(typedef|extern|static) / {
		s = $0; sub(/\(.*/, "", s); n = split(s, w, /[ *]+/); name = w[n]
		if (index(block, name) == 0) {
			printf "checksrc: %s:%d: %s has no contract comment naming it\n", FILENAME, FNR, name
			bad = 1
		} else if (block !~ /[Tt]hread|[Pp]ure|[Ll]oop/ && top !~ /[Tt]hread|[Pp]ure|[Ll]oop/) {
			printf "checksrc: %s:%d: %s: its comment says nothing of threads\n", FILENAME, FNR, name
			bad = 1
		}
	}
	END { exit bad }
' src/*/*.h || fail=1
# A function of a public header is used by another file of src/: the words of
# the code lines (not comments) of every .c file, and where each function is
# defined (its name at the start of a line, the return type above it).
awk "$AWK_CODE"'
	FNR == 1 { incomment = 0 }
	FILENAME ~ /\.h$/ {
		if (FILENAME ~ /_int\.h$/ || $0 !~ /^[a-z][^(]*[a-z_0-9]\(/ ||
		    $0 ~ /^(typedef|extern|static) /)
			next
		s = $0; sub(/\(.*/, "", s); n = split(s, w, /[ *]+/)
		decl[w[n]] = FILENAME
		next
	}
	FNR == 1 { files[FILENAME] = 1 }
	/^[a-z_0-9]+\(/ { s = $0; sub(/\(.*/, "", s); def[s] = FILENAME }
	{
		line = code($0)
		n = split(line, w, /[^A-Za-z_0-9]+/)
		for (i = 1; i <= n; i++)
			if (w[i] != "")
				seen[w[i], FILENAME] = 1
	}
	END {
		for (f in decl) {
			used = 0
			for (c in files)
				if (c != def[f] && (f, c) in seen)
					used = 1
			if (!used) {
				printf "checksrc: %s: %s has no caller outside %s", decl[f], f, def[f]
				print " (static, an _int.h header, or dead)"
				bad = 1
			}
		}
		exit bad
	}
' src/*/*.h src/*.c src/*/*.c || fail=1
# Every macro defined in src/ is used somewhere besides its definition.
unused=$(comm -23 \
	<(sed -n 's/^#[[:space:]]*define[[:space:]]\{1,\}\([A-Z][A-Z0-9_]*\).*/\1/p' \
		src/*.c src/*/*.[ch] | sort -u) \
	<(grep -rhoE --include='*.[ch]' '\b[A-Z][A-Z0-9_]*\b' src tests | sort | uniq -c |
		awk '$1 > 1 { print $2 }' | sort -u))
for m in $unused; do
	echo "checksrc: #define $m is never used"
	fail=1
done
# Function length: from a line starting with '{' to the next line starting
# with '}'. Over 80 lines is allowed only under a comment, just above the
# function, that says why it is long.
awk '
	FNR == 1 { start = 0; incomment = 0; why = 0 }
	!start && /^\/\*/ { incomment = 1; text = "" }
	!start && incomment {
		text = text " " $0
		if ($0 ~ /\*\//) {
			incomment = 0
			why = text ~ /[Ll]ong/
		}
		next
	}
	!start && (/^[[:space:]]*$/ || /;[[:space:]]*$/) { why = 0 }
	/^\{/ { start = FNR; name = prev; longok = why }
	/^\}/ && start {
		n = FNR - start - 1
		if (n > 80 && !longok) {
			printf "checksrc: %s: %s is %d lines (over 80)\n", FILENAME, name, n
			bad = 1
		}
		start = 0
		why = 0
	}
	{ prev = $0 }
	END { exit bad }
' src/*.c src/*/*.c || fail=1
# At most five parameters (STYLE: beyond that, an options struct): every
# function definition (its name at the start of a line) and every
# function-pointer declarator "(*name)(" - struct members, typedefs,
# parameters. Commas are counted at the list's own depth, outside comments;
# "void" alone is no parameter.
awk "$AWK_CODE"'
	function nparams(s,    i, c, depth, n, bare) {
		bare = s
		gsub(/[[:space:]]/, "", bare)
		if (bare == "" || bare == "void")
			return 0
		n = 1
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "(")
				depth++
			else if (c == ")")
				depth--
			else if (c == "," && depth == 0)
				n++
		}
		return n
	}
	# Where in s is the ")" that closes an already open "("? 0 when s does not close it.
	function closing(s,    i, c, depth) {
		depth = 1
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "(")
				depth++
			else if (c == ")" && --depth == 0)
				return i
		}
		return 0
	}
	# The text of s up to the ")" that closes an already open "(".
	function upto(s,    i) {
		i = closing(s)
		return i ? substr(s, 1, i - 1) : s
	}
	# The text of code lines (comments removed) from after an opening "("
	# to its match, reading further lines as needed.
	function plist(text,    rest) {
		while (!closing(text) && (getline rest) > 0)
			text = text " " code(rest)
		return upto(text)
	}
	function report(name, where, n) {
		if (n > 5) {
			printf "checksrc: %s: %s takes %d parameters (at most 5; pass a struct)\n",
			    where, name, n
			bad = 1
		}
	}
	# Every function-pointer declarator in text, nested ones included.
	function fnptrs(text, where,    name) {
		while (match(text, /\(\*[a-z_][a-z_0-9]*\)[[:space:]]*\(/)) {
			name = substr(text, RSTART + 2)
			sub(/\).*/, "", name)
			text = substr(text, RSTART + RLENGTH)
			report("(*" name ")", where, nparams(upto(text)))
		}
	}
	FNR == 1 { incomment = 0 }
	{
		line = code($0)
		where = FILENAME ":" FNR
		if (match(line, /^[a-z_][a-z_0-9]*\(/)) {
			name = substr(line, 1, RLENGTH - 1)
			text = plist(substr(line, RLENGTH + 1))
			report(name, where, nparams(text))
			fnptrs(text, where)
		} else if (match(line, /\(\*[a-z_][a-z_0-9]*\)[[:space:]]*\(/)) {
			text = substr(line, RSTART, RLENGTH)
			fnptrs(text plist(substr(line, RSTART + RLENGTH)) ")", where)
		}
	}
	END { exit bad }
' src/*.c src/*/*.[ch] || fail=1
if [ $fail -eq 0 ]; then
	echo "checksrc: ok"
fi
exit $fail
