#!/usr/bin/env bash
# Unpacks (does NOT install) Cyrus IMAP and Courier-IMAP with the libraries they need into DIR, for the
# opt-in peer-server tests: installing them would remove dovecot-imapd/dovecot-pop3d, which the suite needs.
#   bash test/harness/peers/extract-debs.sh /opt/mailbox-peers && MAILBOX_PEER_ROOT=/opt/mailbox-peers npm test
# Needs apt-get (Debian 12); downloads about 25 MB. Exim installs normally: apt-get install exim4-daemon-light.
set -euo pipefail
dir=${1:?usage: extract-debs.sh DIR}
mkdir -p "$dir/debs"
cd "$dir/debs"
pkgs=(cyrus-common cyrus-imapd cyrus-pop3d sasl2-bin libical3 libxapian30 libzephyr4 libclamav12 libmspack0 libpcre3
  courier-base courier-imap libcourier-unicode4 courier-authlib libgamin0 libltdl7)
apt-get download "${pkgs[@]}"
for deb in ./*.deb; do dpkg-deb -x "$deb" "$dir"; done
echo "unpacked into $dir: set MAILBOX_PEER_ROOT=$dir"
