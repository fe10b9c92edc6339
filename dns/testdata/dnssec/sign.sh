#!/bin/sh
# Regenerate the signed fixtures of dns/src/dnssec/tests.rs with fresh test
# keys (ldnsutils): NSEC, and NSEC3 with no salt and 0 iterations (RFC 9276).
# The hashed names in the tests come from `ldns-nsec3-hash -t 0 NAME` and do
# not depend on the keys; the private keys are not kept.
set -eu
cd "$(dirname "$0")"
rm -f K*.key K*.private K*.ds ksk.* zsk.*
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k -r /dev/urandom signed.example)
zsk=$(ldns-keygen -a ECDSAP256SHA256 -r /dev/urandom signed.example)
for f in "$ksk".*; do mv "$f" "ksk.${f##*.}"; done
for f in "$zsk".*; do mv "$f" "zsk.${f##*.}"; done
times="-e 20371231000000 -i 20261201000000"
ldns-signzone $times -f nsec.signed signed.example.zone ksk zsk
ldns-signzone -n -t 0 $times -f nsec3.signed signed.example.zone ksk zsk
ldns-verify-zone nsec.signed
ldns-verify-zone nsec3.signed
rm -f ksk.private zsk.private
