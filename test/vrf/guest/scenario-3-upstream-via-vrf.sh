#!/bin/bash
# Scenario 3: the mgmt instance's upstream queries leave through mgmt.
# The upstream 10.53.0.2 is reachable only through the mgmt VRF. The mgmt instance resolves a
# never-cached name and the upstream logs the query. Instances whose upstream sockets are not
# bound to mgmt get no answer (SERVFAIL or no reply) and the upstream never sees their query:
#   --upstream-device def-up    upstream sockets on a default-VRF device
#   --upstream-device default   upstream sockets bound to no device (listeners still in mgmt)
#   no --vrf at all             the whole instance in the default VRF

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check "topology: 10.53.0.2 answers from inside mgmt" \
  expect_answer mgmt "$MGMT_UP_ADDR" which.lab.test A 10.53.0.53
check "topology: 10.53.0.2 is unreachable from the default VRF" \
  expect_no_answer default "$MGMT_UP_ADDR" which.lab.test A NOREPLY

name=$(unique_name wild.lab.test)
check "resolver --vrf mgmt starts" \
  start_resolver mgmt --vrf mgmt --upstream "$MGMT_UP_ADDR" "${MGMT_EXTRA_ARGS[@]}"
check "mgmt instance resolves a never-cached name" expect_answer mgmt 127.0.0.1 "$name" A 10.53.0.99
check "the upstream received that query (through mgmt)" upstream_saw up-mgmt "$name"
check "mgmt instance stops" stop_resolver mgmt

name=$(unique_name wild.lab.test)
check "resolver --vrf mgmt --upstream-device def-up starts" \
  start_resolver wrong-device --vrf mgmt --upstream "$MGMT_UP_ADDR" --upstream-device def-up
check "upstream sockets on def-up: no answer (SERVFAIL, REFUSED or no reply)" \
  expect_no_answer mgmt 127.0.0.1 "$name" A "SERVFAIL REFUSED NOREPLY"
check "upstream sockets on def-up: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "--upstream-device instance stops" stop_resolver wrong-device

name=$(unique_name wild.lab.test)
check "resolver --vrf mgmt --upstream-device default (upstream sockets unbound) starts" \
  start_resolver unbound-upstream --vrf mgmt --upstream "$MGMT_UP_ADDR" --upstream-device default
check "upstream sockets unbound: no answer (SERVFAIL, REFUSED or no reply)" \
  expect_no_answer mgmt 127.0.0.1 "$name" A "SERVFAIL REFUSED NOREPLY"
check "upstream sockets unbound: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "--upstream-device default instance stops" stop_resolver unbound-upstream

name=$(unique_name wild.lab.test)
check "resolver without --vrf, --upstream 10.53.0.2, starts in the default VRF" \
  start_resolver no-vrf --upstream "$MGMT_UP_ADDR"
check "upstream sockets not in mgmt (no --vrf): no answer (SERVFAIL, REFUSED or no reply)" \
  expect_no_answer default 127.0.0.1 "$name" A "SERVFAIL REFUSED NOREPLY"
check "no --vrf: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "no-vrf instance stops" stop_resolver no-vrf

# DNS over TLS through mgmt (issue 14): unbound in up-mgmt answers TLS on 10.53.0.2:853 and
# forwards lab.test to the dnsmasq beside it, so the dnsmasq log shows what came over TLS (test.
# is one of unbound's built-in NXDOMAIN zones, RFC 6761, hence nodefault). The
# certificate is made here: a CA and a server certificate for dns.lab.test.
dot_up() {
  local d=$STATE/dot
  mkdir -p "$d" || return 1
  ( cd "$d" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=lab-ca -days 2 &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key -out s.csr -subj /CN=dns.lab.test &&
    printf 'subjectAltName=DNS:dns.lab.test\n' >ext &&
    openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out s.pem -days 2 -extfile ext ) >>"$LOG" 2>&1 || return 1
  cat >"$d/unbound.conf" <<CONF
server:
  interface: $MGMT_UP_ADDR@853
  tls-port: 853
  tls-service-key: "$d/s.key"
  tls-service-pem: "$d/s.pem"
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: ""
  use-syslog: no
  logfile: "$d/unbound.log"
  verbosity: 1
  access-control: 0.0.0.0/0 allow
  module-config: "iterator"
  do-not-query-localhost: no
  local-zone: "test." nodefault
forward-zone:
  name: "lab.test."
  forward-addr: $MGMT_UP_ADDR@53
remote-control:
  control-enable: no
CONF
  ip netns exec up-mgmt unbound -d -c "$d/unbound.conf" >>"$LOGDIR/unbound-dot.out" 2>&1 &
  echo $! >"$d/pid"
  for _ in $(seq 1 60); do
    ip netns exec up-mgmt ss -Htln "sport = :853" | grep -q . && return 0
    sleep 0.5
  done
  return 1
}
dot_connections() { # established TLS connections at the upstream, from the mgmt side (10.53.0.1)
  ip netns exec up-mgmt ss -Htn state established "( sport = :853 )" | grep -c "10.53.0.1"
}

check "DoT: unbound answers TLS on 10.53.0.2:853 in up-mgmt" dot_up
name=$(unique_name wild.lab.test)
check "DoT: resolver --vrf mgmt --dns-over-tls yes with #dns.lab.test and the lab CA starts" \
  start_resolver dot --vrf mgmt --upstream "$MGMT_UP_ADDR#dns.lab.test" --dns-over-tls yes --tls-ca-file "$STATE/dot/ca.pem"
check "DoT: a never-cached name is answered over TLS through mgmt" expect_answer mgmt 127.0.0.1 "$name" A 10.53.0.99
check "DoT: the query reached the upstream (via unbound's TLS listener)" upstream_saw up-mgmt "$name"
check "DoT: one TLS connection from the mgmt side is open at the upstream" eval '[ "$(dot_connections)" = 1 ]'
check "DoT instance stops" stop_resolver dot
name=$(unique_name wild.lab.test)
check "DoT strict with a wrong name starts" \
  start_resolver dot-wrong --vrf mgmt --upstream "$MGMT_UP_ADDR#wrong.lab.test" --dns-over-tls yes --tls-ca-file "$STATE/dot/ca.pem"
check "DoT strict with a wrong name: SERVFAIL, nothing sent in plain text" \
  expect_no_answer mgmt 127.0.0.1 "$name" A "SERVFAIL"
check "DoT strict with a wrong name: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "DoT strict with a wrong name: the log says why (VR_ERR_UPSTREAM_TLS)" \
  grep -q '"code":"VR_ERR_UPSTREAM_TLS".*not valid for wrong.lab.test' "$LOGDIR/resolver-dot-wrong.log"
check "DoT wrong-name instance stops" stop_resolver dot-wrong
kill "$(cat "$STATE/dot/pid")" 2>/dev/null
