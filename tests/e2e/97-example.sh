# 97-example: docs/example-client.c, the ~30-line client from the docs,
# compiled against libnacre through pkg-config, verifies a running nacred
# (sim provider) with a policy pinning the sim root (its certificate file)
# and PCR0, and refuses it under the default AWS-only trust and under a
# policy that pins no code.

ex_pc=build/pkgconfig
if ! PKG_CONFIG_PATH=$ex_pc pkg-config --exists nacre-uninstalled; then
	notok "example client: pkg-config finds libnacre" "no $ex_pc/nacre-uninstalled.pc (make lib)"
else
	# shellcheck disable=SC2046
	${CC:-cc} -Wall -Werror docs/example-client.c \
		$(PKG_CONFIG_PATH=$ex_pc pkg-config --cflags --libs nacre-uninstalled) \
		-o "$T/example-client" 2>"$T/ex-cc.err"
	check "example client compiles with \$(pkg-config --cflags --libs nacre)" test -x "$T/example-client"

	upstream ex_app "unix:$T/ex.sock"
	conf_defaults
	C_LEVEL=info
	port P_EX
	C_LISTEN="tcp:127.0.0.1:$P_EX"
	C_UP="unix:$T/ex.sock"
	conf "$T/ex.conf"
	if nacred ex "$T/ex.conf" "$P_EX"; then
		pcr0=$(grep -o 'sim PCR0 [0-9a-f]*' "$T/ex.err" | cut -d' ' -f3)
		printf 'trust = { roots = [ "%s" ]; };\nmax_age = "1h";\npcrs = { pcr0 = [ "%s" ]; };\n' \
			"$T/sim-root.crt" "$pcr0" >"$T/ex-policy.conf"
		out=$("$T/example-client" 127.0.0.1 "$P_EX" "$T/ex-policy.conf" 2>&1)
		check_eq "example client: exit 0 with a policy pinning the sim root and PCR0" "$?" 0
		check_has "example client: prints the verified verdict" "$out" "verified:"
		printf 'trust = { roots = [ "aws-nitro" ]; };\npcrs = { pcr0 = [ "%s" ]; };\n' \
			"$pcr0" >"$T/ex-aws.conf"
		out=$("$T/example-client" 127.0.0.1 "$P_EX" "$T/ex-aws.conf" 2>&1)
		check_eq "example client: exit 1 under AWS-only trust" "$?" 1
		check_has "example client: says which root is not trusted" "$out" "does not trust"
		printf 'trust = { roots = [ "%s" ]; };\n' "$T/sim-root.crt" >"$T/ex-unpinned.conf"
		out=$("$T/example-client" 127.0.0.1 "$P_EX" "$T/ex-unpinned.conf" 2>&1)
		check_eq "example client (libnacre): exit 1 under a policy that pins no code" "$?" 1
		check_has "example client: ... saying what to pin" "$out" "the policy pins no code, so any enclave under its roots would pass: add pcrs.pcr0"
		printf 'trust = { roots = [ "%s" ]; };\nallow_any_code = true;\n' "$T/sim-root.crt" >"$T/ex-any.conf"
		out=$("$T/example-client" 127.0.0.1 "$P_EX" "$T/ex-any.conf" 2>&1)
		check_eq "example client: exit 0 under allow_any_code = true" "$?" 0
		check_has "example client: ... printing the result's warning" "$out" "warning: the policy pins no code (allow_any_code)"
		nacred_stop ex
	fi
	bg_stop ex_app
fi
