#!/bin/sh
# Installs the peers the server and client benchmarks compare against, beyond what CI installs:
# Go with go-smtp (built offline from Debian's sources), aiosmtpd and Postfix. Benchmarks are not
# run by CI; run this once as root on a Debian machine before `npm run bench:server` or
# `npm run bench:client`.
set -eu
# go-smtp's Debian package does not depend on go-sasl, which it imports.
apt-get install -y --no-install-recommends golang-go golang-github-emersion-go-smtp-dev golang-github-emersion-go-sasl-dev python3-aiosmtpd postfix
