# 57-admin: the admin endpoint (admin.listen). /metrics in Prometheus'
# text format, checked by promtool and scraped by a real Prometheus whose
# HTTP API then answers a query for a nacre series; /healthz flips to 503
# during a drain; /attestation gives the attested certificate, which
# nacre inspect reads. Bad requests and a flood of connections are
# bounded, and the data path does not notice them.

NACRE_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
port P_AD
port P_ADM
port P_PROM
upstream ad_app "unix:$T/ad.sock"
conf_defaults
C_LISTEN="tcp:127.0.0.1:$P_AD"
C_UP="unix:$T/ad.sock"
C_LEVEL=info
C_DRAIN=20s
C_EXTRA="admin = { listen = \"tcp:127.0.0.1:$P_ADM\"; max_evidence_age = \"1h\"; };"
conf "$T/ad.conf"

# a public admin address is refused, as a public upstream is
sed "s|tcp:127.0.0.1:$P_ADM|tcp:0.0.0.0:$P_ADM|" "$T/ad.conf" >"$T/ad-pub.conf"
out=$("$NACRED" -t -c "$T/ad-pub.conf" 2>&1)
check_has "admin: a public listen address is refused" "$out" \
	"admin.listen = \"tcp:0.0.0.0:$P_ADM\" is not local"

adm() { curl -s --max-time 5 "$@"; }
metric() { # NAME{LABELS} from $T/ad-metrics.txt: the value
	awk -v k="$1" '$1 == k { print $2 }' "$T/ad-metrics.txt"
}

if nacred ad "$T/ad.conf" "$P_AD"; then
	check_has "admin: nacred says where the endpoint listens" "$(nlog ad)" \
		"admin: listening on tcp:127.0.0.1:$P_ADM"
	check_eq "admin: /healthz is 200 while serving" \
		"$(adm -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_ADM/healthz")" 200
	# traffic: three requests, one failed handshake, one attested client
	for i in 1 2 3; do https "$P_AD" / >/dev/null 2>&1; done
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$P_AD" \
		-tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -quiet >/dev/null 2>&1
	/usr/bin/python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"not TLS at all, just text\r\n\r\n")
s.recv(100)' "$P_AD" >/dev/null 2>&1
	PCR0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/ad.err" | head -n 1)
	ROOT_SHA=$(sim_root_sha ad)
	timeout 20 "$NACRE_CLI" verify "127.0.0.1:$P_AD" --root "sha256:$ROOT_SHA" \
		--pcr "0=$PCR0" >/dev/null 2>&1
	sleep 0.3
	adm -D "$T/ad-h.txt" "http://127.0.0.1:$P_ADM/metrics" >"$T/ad-metrics.txt"
	check_has "admin: /metrics is Prometheus' text format 0.0.4" "$(cat "$T/ad-h.txt")" \
		"text/plain; version=0.0.4"
	out=$(promtool check metrics <"$T/ad-metrics.txt" 2>&1); rc=$?
	check_eq "admin: promtool check metrics finds no problem ($out)" "$rc" 0
	hs=$(metric 'nacre_handshakes_total{result="done",version="TLSv1.3",attestation="not_asked"}')
	check_range "admin: completed handshakes counted (TLS 1.3, not asked)" "${hs:-0}" 4 100
	hs=$(metric 'nacre_handshakes_total{result="done",version="TLSv1.3",attestation="asked"}')
	check_range "admin: ... and the one that asked for attestation" "${hs:-0}" 1 10
	hs=$(metric 'nacre_handshakes_total{result="failed",version="none",attestation="not_asked"}')
	check_range "admin: the failed handshake counted" "${hs:-0}" 1 10
	c=$(metric "nacre_connections_total{listener=\"tcp:127.0.0.1:$P_AD\",outcome=\"handshake\"}")
	check_range "admin: ... and its connection's outcome" "${c:-0}" 1 10
	c=$(metric "nacre_connections_total{listener=\"tcp:127.0.0.1:$P_AD\",outcome=\"ok\"}")
	check_range "admin: connections that ended well, by listener" "${c:-0}" 4 100
	b=$(metric 'nacre_bytes_total{direction="upstream_to_client"}')
	check_range "admin: bytes upstream to client" "${b:-0}" 50 100000
	n=$(metric 'nacre_handshake_duration_seconds_count')
	check_range "admin: the handshake histogram counts them" "${n:-0}" 5 100
	check "admin: the served certificate's expiry is there" \
		grep -q '^nacre_certificate_expiry_timestamp_seconds{kind="attested",name="localhost"} [0-9]' \
		"$T/ad-metrics.txt"
	check "admin: process RSS and descriptors" sh -c \
		"grep -q '^process_resident_memory_bytes [1-9]' '$T/ad-metrics.txt' &&
		 grep -q '^process_open_fds [1-9]' '$T/ad-metrics.txt'"
	# the upstream down: a connect failure by reason
	bg_stop ad_app
	https "$P_AD" / >/dev/null 2>&1
	adm "http://127.0.0.1:$P_ADM/metrics" >"$T/ad-metrics.txt"
	uf=$(metric 'nacre_upstream_connect_failures_total{reason="refused"}')
	check_range "admin: an upstream connect failure counted (refused)" "${uf:-0}" 1 5
	upstream ad_app2 "unix:$T/ad.sock"

	# a real Prometheus scrapes it
	if command -v prometheus >/dev/null 2>&1; then
		cat >"$T/prom.yml" <<PY
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: nacred
    static_configs: [ { targets: [ "127.0.0.1:$P_ADM" ] } ]
PY
		mkdir -p "$T/prom-data"
		bg prom prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom-data" \
			--web.listen-address="127.0.0.1:$P_PROM"
		q=""
		i=0
		while [ $i -lt 60 ]; do
			q=$(curl -s --max-time 2 "http://127.0.0.1:$P_PROM/api/v1/query?query=nacre_handshakes_total%7Bresult%3D%22done%22%2Cattestation%3D%22asked%22%2Cversion%3D%22TLSv1.3%22%7D" 2>/dev/null)
			case $q in *'"value":['*) break ;; esac
			sleep 0.5
			i=$((i + 1))
		done
		check_has "admin: Prometheus scraped nacred and answers a query for a nacre series" \
			"$q" '"__name__":"nacre_handshakes_total"'
		up=$(curl -s --max-time 2 "http://127.0.0.1:$P_PROM/api/v1/query?query=up%7Bjob%3D%22nacred%22%7D")
		check_has "admin: ... its target is up" "$up" '"value":[' 
		bg_stop prom
	else
		notok "admin: prometheus is installed" "sh tests/deps.sh test installs it"
	fi

	# /attestation: the certificate in service, which nacre inspect reads
	adm "http://127.0.0.1:$P_ADM/attestation" >"$T/ad-att.pem"
	cert_of "$P_AD" "$T/ad-served.pem"
	check_eq "admin: /attestation is the attested certificate in service" \
		"$(openssl x509 -in "$T/ad-att.pem" -noout -fingerprint -sha256 2>&1)" \
		"$(openssl x509 -in "$T/ad-served.pem" -noout -fingerprint -sha256 2>&1)"
	out=$("$NACRE_CLI" inspect "$T/ad-att.pem" 2>&1)
	check_has "admin: nacre inspect reads it (the evidence is in it)" "$out" "module id"
	out=$(adm "http://127.0.0.1:$P_ADM/attestation" | "$NACRE_CLI" inspect - \
		--root "sha256:$ROOT_SHA" --pcr "0=$PCR0" 2>&1); rc=$?
	check_eq "admin: /attestation piped to nacre inspect - verifies offline (exit 0)" "$rc" 0
	# nacre inspect HOST:PORT fetches the attested certificate over TLS
	out=$("$NACRE_CLI" inspect "127.0.0.1:$P_AD" --root "sha256:$ROOT_SHA" --pcr "0=$PCR0" 2>&1); rc=$?
	check_eq "nacre inspect HOST:PORT: fetched and verified (exit 0)" "$rc" 0
	check_has "nacre inspect HOST:PORT: shows the evidence" "$out" "evidence type: application/aws-nitro-document"
	out=$("$NACRE_CLI" inspect "127.0.0.1:$P_PROM" 2>&1); rc=$?
	check_eq "nacre inspect HOST:PORT, nothing there: input error (exit 2)" "$rc" 2
	check_has "nacre inspect HOST:PORT, nothing there: says so" "$out" "Connection refused"

	# bad requests: a clear status, nothing else
	# evhttp answers a method it is not allowed with 501, a body with 413
	check_eq "admin: POST is refused (501)" \
		"$(adm -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P_ADM/metrics")" 501
	check_eq "admin: a request body is refused (413)" \
		"$(adm -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$P_ADM/metrics")" 413
	check_eq "admin: an unknown path is 404" \
		"$(adm -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_ADM/secret")" 404
	big=$(head -c 20000 /dev/zero | tr '\0' a)
	code=$(adm -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$P_ADM/metrics")
	check "admin: 20 kB of headers are refused (got $code)" test "$code" = 400 -o "$code" = 413 -o "$code" = 431 -o "$code" = 000
	# a flood of admin connections: accept pauses; the data path is untouched
	/usr/bin/python3 - "$P_ADM" <<'PY' >"$T/ad-flood.txt" 2>&1
import socket, sys, time
socks = []
t0 = time.time()
for i in range(300):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        socks.append(s)
    except OSError:
        pass
time.sleep(0.5)
print("opened", len(socks))
PY
	check_has "admin: a flood of connections pauses the admin accept" "$(nlog ad)" \
		"admin: more than 64 connections in a second; pausing accept for 1 s"
	check_eq "admin: ... while the data path answers at once" "$(https "$P_AD" /)" \
		"hello from the enclave app"

	# the flood's connections are taken in at 64 a second: wait for them
	i=0
	while [ "$(adm -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_ADM/healthz")" != 200 ] &&
	      [ $i -lt 30 ]; do sleep 0.5; i=$((i + 1)); done
	check_eq "admin: after the flood, /healthz answers again" \
		"$(adm -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_ADM/healthz")" 200

	# /healthz during a drain: 503 with the reason
	bg ad_slow sh -c "curl -sk --max-time 30 --limit-rate 1M https://127.0.0.1:$P_AD/bytes/3000000 >/dev/null"
	sleep 0.5
	check "admin: a download is in progress before the drain" bg_running ad_slow
	bg_signal ad TERM
	wait_for "$T/ad.err" "draining" 5 >/dev/null 2>&1
	out=$(adm -w ' %{http_code}' "http://127.0.0.1:$P_ADM/healthz" | tr '\n' ' ')
	check_eq "admin: /healthz is 503 while draining, and says so" "$out" "draining  503"
	bg_wait ad_slow 30 >/dev/null
	rc=$(bg_wait ad 10)
	nacred_verdict ad "$rc" 0
fi
bg_stop ad_app2
