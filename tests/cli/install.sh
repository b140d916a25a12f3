# tests/cli/install.sh, sourced by tests/cli/run.sh (ok/notok, $T): `make
# install DESTDIR=... PREFIX=/usr` after whatever prefix the tree was built
# for installs a nacre.pc that says /usr; docs/example-client.c compiles
# and links against the installed library through pkg-config (sysroot in
# the DESTDIR) and runs; libnacre.so exports exactly the functions of
# include/nacre/verify.h, versioned by src/verify/libnacre.map, under the soname
# libnacre.so.1.

INST=$T/inst
# a make of our own: not the jobserver of a `make check` that runs us
inst_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }

if ! inst_make install DESTDIR="$INST" PREFIX=/usr >"$T/install.log" 2>&1; then
	notok "make install DESTDIR=\$tmp PREFIX=/usr" "$(tail -n 3 "$T/install.log" | tr '\n' '|')"
else
	ok "make install DESTDIR=\$tmp PREFIX=/usr"
	pc=$INST/usr/lib/pkgconfig/nacre.pc
	if [ "$(sed -n 's/^prefix=//p' "$pc" 2>/dev/null)" = /usr ]; then
		ok "the installed nacre.pc says prefix=/usr"
	else
		notok "the installed nacre.pc says prefix=/usr" "$(head -n 3 "$pc" 2>&1 | tr '\n' '|')"
	fi
	missing=""
	for f in usr/sbin/nacred usr/bin/nacre usr/include/nacre/verify.h \
		usr/lib/libnacre.so.1 usr/lib/libnacre.a usr/share/man/man1/nacre.1 \
		usr/lib/systemd/system/nacred.service usr/lib/tmpfiles.d/nacre.conf \
		usr/lib/sysusers.d/nacre.conf etc/nacre/nacred.conf; do
		[ -e "$INST/$f" ] || missing="$missing $f"
	done
	if [ -z "$missing" ]; then ok "make install: binaries, library, header, man pages, units, tmpfiles, sysusers"
	else notok "make install: binaries, library, header, man pages, units, tmpfiles, sysusers" "missing$missing"; fi
	[ "$(readlink "$INST/usr/lib/libnacre.so")" = libnacre.so.1 ] &&
		ok "libnacre.so -> libnacre.so.1" || notok "libnacre.so -> libnacre.so.1" "$(readlink "$INST/usr/lib/libnacre.so")"
	grep -q '^ExecStart=/usr/sbin/nacred -c /etc/nacre/nacred.conf$' "$INST/usr/lib/systemd/system/nacred.service" &&
		ok "the installed unit runs /usr/sbin/nacred" ||
		notok "the installed unit runs /usr/sbin/nacred" "$(grep ExecStart "$INST/usr/lib/systemd/system/nacred.service")"

	# a client built the documented way, against the DESTDIR only
	flags=$(PKG_CONFIG_SYSROOT_DIR="$INST" PKG_CONFIG_PATH="$INST/usr/lib/pkgconfig" \
		pkg-config --cflags --libs nacre 2>&1)
	case $flags in
	*"-I$INST/usr/include"*"-L$INST/usr/lib"*|*"-L$INST/usr/lib"*"-I$INST/usr/include"*)
		ok "pkg-config --cflags --libs nacre points into the DESTDIR" ;;
	*) notok "pkg-config --cflags --libs nacre points into the DESTDIR" "$flags" ;;
	esac
	# shellcheck disable=SC2086
	if ${CC:-cc} -Wall -Werror docs/example-client.c $flags -o "$T/example-installed" \
		>"$T/example-cc.log" 2>&1; then
		ok "docs/example-client.c compiles and links against the installed libnacre"
		out=$(LD_LIBRARY_PATH="$INST/usr/lib" "$T/example-installed" 2>&1); rc=$?
		expect "... and runs (no arguments: its usage, exit 2)" 2 "usage: example-client"
		case $(readelf -d "$T/example-installed" 2>&1) in
		*"Shared library: [libnacre.so.1]"*) ok "... needing libnacre.so.1" ;;
		*) notok "... needing libnacre.so.1" "$(readelf -d "$T/example-installed" | grep NEEDED | tr '\n' '|')" ;;
		esac
	else
		notok "docs/example-client.c compiles and links against the installed libnacre" \
			"$(tail -n 3 "$T/example-cc.log" | tr '\n' '|')"
	fi

	# the ABI: exactly the header's functions, nothing internal
	so=$INST/usr/lib/libnacre.so.1
	case $(readelf -d "$so" 2>&1) in
	*"Library soname: [libnacre.so.1]"*) ok "soname libnacre.so.1" ;;
	*) notok "soname libnacre.so.1" "$(readelf -d "$so" | grep SONAME)" ;;
	esac
	nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }' | sort >"$T/exported"
	# each function under the version node the map puts it in (NACRE_1,
	# then NACRE_1.1, ...: README "Library ABI")
	awk '/^[A-Z0-9_.]+ *\{/ { node = $1 } /^[[:space:]]+nacre_[a-z0-9_]*;/ {
		n = $1; sub(/;/, "", n); print n " " node }' src/verify/libnacre.map |
		sort >"$T/nodes"
	${CC:-cc} -E -P -Iinclude include/nacre/verify.h 2>/dev/null |
		grep -o '\bnacre_[a-z0-9_]*[[:space:]]*(' | tr -d '( \t' | sort -u |
		join -a 1 -e NONE -o 1.1,2.2 - "$T/nodes" |
		awk '{ print $1 "@@" $2 }' >"$T/declared"
	extra=$(comm -23 "$T/exported" "$T/declared" | tr '\n' ' ')
	absent=$(comm -13 "$T/exported" "$T/declared" | tr '\n' ' ')
	if [ "$(wc -l <"$T/declared")" -ge 15 ]; then ok "the header declares $(wc -l <"$T/declared") functions"
	else notok "the header declares its functions" "$(wc -l <"$T/declared") found"; fi
	if [ -z "$extra" ]; then ok "libnacre.so exports nothing beside include/nacre/verify.h"
	else notok "libnacre.so exports nothing beside include/nacre/verify.h" "extra: $extra"; fi
	if [ -z "$absent" ]; then ok "libnacre.so exports every function of include/nacre/verify.h, versioned as libnacre.map says"
	else notok "libnacre.so exports every function of include/nacre/verify.h, versioned as libnacre.map says" "missing: $absent"; fi
	others=$(nm -D --defined-only "$so" | awk '$2 != "T" && $3 !~ /^NACRE_1(\.[0-9]+)?$/ { print $3 }' | tr '\n' ' ')
	if [ -z "$others" ]; then ok "libnacre.so exports no data or other symbols"
	else notok "libnacre.so exports no data or other symbols" "$others"; fi
fi
