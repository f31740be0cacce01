#!/bin/bash
# Scenario 2: the mgmt instance is invisible from the default VRF, and an instance for the
# default VRF runs at the same time on the same 127.0.0.1:53 / [::1]:53, each answering from
# its own upstream (which.lab.test: 10.53.0.53 from mgmt's upstream, 10.54.0.54 from the
# default VRF's).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check "topology: the default VRF's upstream answers from the default VRF" \
  expect_answer default "$DEF_UP_ADDR" which.lab.test A 10.54.0.54
check "topology: mgmt's upstream is unreachable from the default VRF" \
  expect_no_answer default "$MGMT_UP_ADDR" which.lab.test A NOREPLY

check "resolver --vrf mgmt starts" \
  start_resolver mgmt --vrf mgmt --upstream "$MGMT_UP_ADDR" "${MGMT_EXTRA_ARGS[@]}"

check "default VRF gets no reply from the mgmt instance on 127.0.0.1 (UDP)" \
  expect_no_answer default 127.0.0.1 which.lab.test A NOREPLY
check "default VRF gets no reply from the mgmt instance on 127.0.0.1 (TCP)" \
  expect_no_answer default 127.0.0.1 which.lab.test A NOREPLY +tcp
check "default VRF gets no reply from the mgmt instance on ::1 (UDP)" \
  expect_no_answer default ::1 which.lab.test A NOREPLY

check "a default-VRF instance starts on 127.0.0.1:53 and [::1]:53 while the mgmt one runs" \
  start_resolver default --upstream "$DEF_UP_ADDR"

check "default VRF, 127.0.0.1 UDP: the default instance answers from its upstream" \
  expect_answer default 127.0.0.1 which.lab.test A 10.54.0.54
check "default VRF, 127.0.0.1 TCP: the default instance answers" \
  expect_answer default 127.0.0.1 which.lab.test A 10.54.0.54 +tcp
check "default VRF, ::1 UDP: the default instance answers" \
  expect_answer default ::1 which.lab.test TXT '"upstream=default"'
check "mgmt, 127.0.0.1 UDP: the mgmt instance still answers from its upstream" \
  expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53
check "mgmt, 127.0.0.1 TCP: the mgmt instance answers" \
  expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53 +tcp
check "mgmt, ::1 UDP: the mgmt instance answers" \
  expect_answer mgmt ::1 which.lab.test TXT '"upstream=mgmt"'
check "both instances are still running" eval 'resolver_running mgmt && resolver_running default'

check "default instance stops on SIGTERM" stop_resolver default
check "mgmt instance stops on SIGTERM" stop_resolver mgmt
