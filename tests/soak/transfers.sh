#!/bin/sh
# tests/soak/transfers.sh PORT SECONDS UPLOAD_FILE: large checksummed
# transfers through nacred, one after the other, for SECONDS: a download of
# /bytes/10485760 (compared with build/tools/upstream --pattern), then an
# upload of UPLOAD_FILE to /sha256 (compared with its sha256sum). One line
# per transfer on stdout: "download ok", "upload ok", or
# "download MISMATCH ...", "upload FAILED curl rc N" ...
cd "$(dirname "$0")/../.." || exit 1
port=$1
seconds=$2
file=$3
UPSTREAM=${UPSTREAM:-build/tools/upstream}
N=10485760
want_dl=$("$UPSTREAM" --pattern $N | sha256sum | cut -d' ' -f1)
want_ul=$(sha256sum <"$file" | cut -d' ' -f1)
end=$(($(date +%s) + seconds))
url="https://localhost:$port"
while [ "$(date +%s)" -lt "$end" ]; do
	got=$(curl -sk --max-time 120 --resolve "localhost:$port:127.0.0.1" \
		"$url/bytes/$N" | sha256sum | cut -d' ' -f1)
	if [ "$got" = "$want_dl" ]; then echo "download ok"
	else echo "download MISMATCH got $got want $want_dl"; fi
	[ "$(date +%s)" -lt "$end" ] || break
	got=$(curl -sk --max-time 120 --resolve "localhost:$port:127.0.0.1" \
		-H 'Expect:' -H 'Content-Type: application/octet-stream' \
		--data-binary "@$file" "$url/sha256")
	rc=$?
	if [ $rc -ne 0 ]; then echo "upload FAILED curl rc $rc"
	elif [ "$got" = "$want_ul" ]; then echo "upload ok"
	else echo "upload MISMATCH got $got want $want_ul"; fi
done
