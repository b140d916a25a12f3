# 20-transfer: 100 MiB each way through nacred, checked by SHA-256, with the
# app on a unix socket and on loopback TCP.

SIZE=${E2E_BIG_BYTES:-104857600}
"$UPSTREAM" --pattern "$SIZE" >"$T/big.bin"
BIG_SHA=$(sha256sum <"$T/big.bin" | cut -d' ' -f1)

upstream xfer_unix_app "unix:$T/xfer.sock"
port P_XAPP
upstream xfer_tcp_app "tcp:127.0.0.1:$P_XAPP"

conf_defaults
C_LEVEL=info
port P_XU
C_LISTEN="tcp:127.0.0.1:$P_XU"
C_UP="unix:$T/xfer.sock"
conf "$T/xfer_unix.conf"
nacred xfer_unix "$T/xfer_unix.conf" "$P_XU"
port P_XT
C_LISTEN="tcp:127.0.0.1:$P_XT"
C_UP="tcp:127.0.0.1:$P_XAPP"
conf "$T/xfer_tcp.conf"
nacred xfer_tcp "$T/xfer_tcp.conf" "$P_XT"

for kind in unix tcp; do
	if [ $kind = unix ]; then p=$P_XU; else p=$P_XT; fi
	t0=$(now)
	got=$(https "$p" "/bytes/$SIZE" --max-time 60 | sha256sum | cut -d' ' -f1)
	check_eq "download $SIZE bytes via $kind app, sha256 matches ($(elapsed "$t0") s)" \
		"$got" "$BIG_SHA"
	t0=$(now)
	got=$(https "$p" /sha256 --max-time 60 -X POST -T "$T/big.bin")
	check_eq "upload $SIZE bytes via $kind app, app's sha256 matches ($(elapsed "$t0") s)" \
		"$got" "$BIG_SHA"
done

# both directions at once on two connections, small buffer in nacred
t0=$(now)
bg xfer_down sh -c "curl -sk --max-time 60 https://127.0.0.1:$P_XU/bytes/$SIZE | sha256sum"
got_up=$(https "$P_XU" /sha256 --max-time 60 -X POST -T "$T/big.bin")
bg_wait xfer_down 60 >/dev/null
check_eq "simultaneous download + upload: download intact" \
	"$(cut -d' ' -f1 "$T/xfer_down.out")" "$BIG_SHA"
check_eq "simultaneous download + upload: upload intact ($(elapsed "$t0") s)" \
	"$got_up" "$BIG_SHA"

rm -f "$T/big.bin"
nacred_stop xfer_unix
nacred_stop xfer_tcp
bg_stop xfer_unix_app
bg_stop xfer_tcp_app
