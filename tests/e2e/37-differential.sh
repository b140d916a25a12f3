# 37-differential: the two TLS 1.3 record layers side by side. One echo app,
# two nacred instances that differ only in who keeps the records after the
# handshake: OpenSSL (SSL_read/SSL_write) or nacred's compact layer
# (src/records/). tests/py/rawtls.py finishes a real handshake, then writes
# records of its own making (bits flipped in header, ciphertext and tag;
# replays; old keys; overlong records; bad inner types; KeyUpdate split,
# interleaved, malformed, flooded; alerts; odd deliveries) and reports what
# came back: the alert, the data echoed, how the connection ended, how many
# KeyUpdates the server sent. The case list with each case's expected
# outcome is in rawtls.py ("rawtls.py list"). Per case: both paths give the
# same outcome, and it is the expected one (RFC 8446; OpenSSL 3.0 where the
# two disagree). A case where the paths may legitimately differ names the RFC
# section that says so and has an expected outcome per path.
# Then a KeyUpdate flood: the server's memory must not grow with what a
# client that never reads asks it to send.

DIF_PY=/usr/bin/python3
RAWTLS=tests/py/rawtls.py
DIF_TAB=$(printf '\t')

# records_conf openssl|compact: C_TLS_EXTRA for that record layer
records_conf() {
	C_TLS_EXTRA=" records = \"$1\";"
}

# dif_paths NAME PATH N: the log of nacred NAME shows that all of its N
# connections (N > 0) had their records where PATH says
dif_paths() {
	_lg=$(nlog "$1")
	_nc=$(printf '%s\n' "$_lg" | grep -c 'TLS records: compact (SSL freed)')
	_no=$(printf '%s\n' "$_lg" | grep -c 'TLS records: openssl')
	if [ "$2" = compact ]; then _want=$_nc _other=$_no; else _want=$_no _other=$_nc; fi
	if [ "$_other" -eq 0 ] && [ "$_want" -ge "$3" ] && [ "$_want" -gt 0 ]; then
		ok "differential: nacred $1 kept every connection's records with $2 ($_want)"
	else
		notok "differential: nacred $1 kept every connection's records with $2" \
			"$_nc compact, $_no openssl, want $3 or more $2 only"
	fi
}

# dif_matrix LABEL ARGS...: run the cases (rawtls.py matrix ARGS) against
# both instances; two checks per case
dif_matrix() {
	_label=$1
	shift
	"$DIF_PY" "$RAWTLS" matrix --path "openssl=$P_DO" --path "compact=$P_DC" \
		--json "$T/dif.json" "$@" >"$T/dif.out" 2>"$T/dif.err"
	_n=0
	while IFS=$DIF_TAB read -r _tag _name _ref _wo _wc _go _gc; do
		[ "$_tag" = CASE ] || continue
		_n=$((_n + 1))
		_c="differential$_label: $_name"
		if [ "$_ref" = - ]; then
			check_eq "$_c: openssl and compact agree" "$_gc" "$_go"
			if [ "$_go" = "$_wo" ] && [ "$_gc" = "$_wc" ]; then
				ok "$_c: $_wo"
			else
				notok "$_c: as expected" "want '$_wo'; openssl: '$_go'; compact: '$_gc'"
			fi
		else
			# the paths may differ here ($_ref): each its own outcome
			check_eq "$_c: openssl path (may differ: $_ref)" "$_go" "$_wo"
			check_eq "$_c: compact path (may differ: $_ref)" "$_gc" "$_wc"
		fi
	done <"$T/dif.out"
	DIF_SUITES=$(sed -n "s/^SUITES$DIF_TAB//p" "$T/dif.out")
	if [ "$_n" -eq 0 ]; then
		notok "differential$_label: the cases ran" "$(tail -n 5 "$T/dif.err" | tr '\n' '|')"
	fi
	DIF_CASES=$((DIF_CASES + _n))
}

DIF_CASES=0
upstream dif_echo "unix:$T/dif-echo.sock" --mode echo

conf_defaults
C_UP="unix:$T/dif-echo.sock"
port P_DO
C_LISTEN="tcp:127.0.0.1:$P_DO"
records_conf openssl
conf "$T/dif-openssl.conf"
port P_DC
C_LISTEN="tcp:127.0.0.1:$P_DC"
records_conf compact
conf "$T/dif-compact.conf"

if nacred dif_o "$T/dif-openssl.conf" "$P_DO" && nacred dif_c "$T/dif-compact.conf" "$P_DC"; then
	dif_start=$(now)
	dif_matrix "" --timeout 2
	echo "# differential: $DIF_CASES cases on $DIF_SUITES in $(elapsed "$dif_start") s"
	# what the server answers 50 KeyUpdate(update_requested) with
	for _p in openssl compact; do
		echo "# keyupdate-requested-x50, $_p: $(grep "\"case\": \"keyupdate-requested-x50\"" \
			"$T/dif.json" | grep "\"path\": \"$_p\"" |
			sed -n 's/.*"server_keyupdates": \([0-9]*\).*/\1/p' | head -n 1) KeyUpdates back"
	done
	# every suite: the server prefers AES-256-GCM; the client can force
	# the other two (rawtls.py --suite)
	for s in TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256; do
		dif_matrix " [$s]" --subset suites --suite "$s"
		check_eq "differential [$s]: the suite negotiated" "$DIF_SUITES" "$s"
	done
	dif_total=$(grep -c '"case"' "$T/dif.json")
	dif_paths dif_o openssl $((dif_total / 2))
	dif_paths dif_c compact $((dif_total / 2))
fi
nacred_stop dif_o
nacred_stop dif_c

# ---- KeyUpdate flood ----
# A client that finishes its handshake, then sends KeyUpdate(update_requested)
# records, each under the key it moved to, and never reads. Every one asks
# for a KeyUpdate back; a server that stops reading while it cannot send
# them makes the client's writes stall, and its memory stays flat. Bound:
# 8 MiB per 1,000,000 records (1 MiB at least). N = 200000: the kernel takes
# about 70,000 answers (a small client MSS keeps the server's send buffer
# small, see rawtls.py), so a server that buffered the rest itself would grow
# by ~3.5 MB, over the 1.6 MiB bound. ASan's quarantine makes RSS grow with
# any malloc/free churn, so the flood runs against the release build
# (build/nacred, from "make all") on both record paths. The full-size flood
# by hand, against a running nacred:
#   /usr/bin/python3 tests/py/rawtls.py flood --port PORT --records 1000000 \
#       --pid "$(pidof nacred)" --warmup
FLOOD_N=${FLOOD_N:-200000}
FLOOD_BOUND=$(awk -v n="$FLOOD_N" 'BEGIN { b = int(8192 * n / 1000000 + 0.999); print (b < 1024 ? 1024 : b) }')
FLOOD_NACRED=build/nacred
if [ -x "$FLOOD_NACRED" ]; then
	_saved_nacred=$NACRED
	NACRED=$FLOOD_NACRED
	for _p in openssl compact; do
		conf_defaults
		C_UP="unix:$T/dif-echo.sock"
		port P_F
		C_LISTEN="tcp:127.0.0.1:$P_F"
		records_conf "$_p"
		conf "$T/flood-$_p.conf"
		nacred "flood_$_p" "$T/flood-$_p.conf" "$P_F" || continue
		_pid=$(bg_pid "flood_$_p")
		"$DIF_PY" "$RAWTLS" flood --port "$P_F" --records "$FLOOD_N" --pid "$_pid" \
			--warmup >"$T/flood-$_p.json" 2>"$T/flood-$_p.err"
		_j=$(cat "$T/flood-$_p.json")
		_f() { printf '%s' "$_j" | sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p"; }
		echo "# keyupdate flood, $_p path (release build): $(_f accepted) of $FLOOD_N" \
			"records taken, stalled $(_f stalled), $(_f seconds) s;" \
			"RSS $(_f rss_before_kib) -> $(_f rss_after_kib) KiB" \
			"($(_f rss_after_close_kib) after the client left)"
		[ -s "$T/flood-$_p.err" ] && sed 's/^/#   /' "$T/flood-$_p.err" | head -n 5
		check_eq "keyupdate flood, $_p path: the client ran" "$(_f error)" null
		_g=$(_f rss_growth_kib)
		case $_g in
		'' | *[!0-9-]*) notok "keyupdate flood, $_p path: RSS growth" "no number: '$_g'" ;;
		*) check_range "keyupdate flood, $_p path: RSS growth (KiB) for $FLOOD_N KeyUpdates, at most $FLOOD_BOUND" \
			"$_g" -1000000 "$FLOOD_BOUND" ;;
		esac
		_o=$("$DIF_PY" "$RAWTLS" one --port "$P_F" --case keyupdate-requested-then-talk |
			sed -n 's/.*"summary": "\([^"]*\)".*/\1/p')
		check_eq "keyupdate flood, $_p path: nacred serves on" "$_o" \
			"alert=close_notify/1 data=after-kuagain<<marker>> closed=fin ku=1"
		dif_paths "flood_$_p" "$_p" 3
		nacred_stop "flood_$_p"
	done
	NACRED=$_saved_nacred
else
	notok "keyupdate flood" "no release build at $FLOOD_NACRED (make all)"
fi
bg_stop dif_echo
