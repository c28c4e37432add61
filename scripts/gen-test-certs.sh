#!/usr/bin/env bash
# gen-test-certs.sh DIR - generate the test PKI of b2c-authy into DIR with the
# openssl CLI: a test CA and a second CA, the mock server certificate (for
# localhost, 127.0.0.1 and the machine's name) and one with the wrong name,
# client certificates (good, second good, expired, foreign CA), a PKCS#12
# bundle and thumbprints.txt ("name sha1-hex"). Idempotent: does nothing when
# DIR/ready exists. Prints one summary line on success.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
if [ -f "$dir/ready" ]; then
	echo "test certificates already in $dir"
	exit 0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log="$tmp/openssl.log"

# run CMD...: run openssl quietly; show its output only when it fails.
run() {
	if ! "$@" >>"$log" 2>&1; then
		cat "$log" >&2
		echo "gen-test-certs: failed: $*" >&2
		exit 1
	fi
}

# newkey NAME: an RSA-2048 private key NAME.key (mode 0600).
newkey() {
	run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/$1.key"
	chmod 600 "$dir/$1.key"
}

# mkca NAME CN: a self-signed CA certificate NAME.pem with key NAME.key.
mkca() {
	newkey "$1"
	run openssl req -new -x509 -sha256 -days 3650 -key "$dir/$1.key" -out "$dir/$1.pem" \
		-subj "/O=b2c-authy test/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash"
}

# sign NAME CN CA EXTFILE-CONTENT: NAME.key + NAME.pem signed by CA, valid now.
sign() {
	newkey "$1"
	printf '%s\n' "$4" >"$tmp/$1.ext"
	run openssl req -new -sha256 -key "$dir/$1.key" -out "$tmp/$1.csr" \
		-subj "/O=b2c-authy test/CN=$2"
	run openssl x509 -req -sha256 -days 825 -in "$tmp/$1.csr" \
		-CA "$dir/$3.pem" -CAkey "$dir/$3.key" -set_serial "0x$(openssl rand -hex 8)" \
		-extfile "$tmp/$1.ext" -out "$dir/$1.pem"
}

# sign_expired NAME CN: a client certificate from the CA whose validity lies
# entirely in the past. OpenSSL 3.0's x509 -req has no -not_before, so this
# goes through "openssl ca" with explicit start and end dates.
sign_expired() {
	newkey "$1"
	run openssl req -new -sha256 -key "$dir/$1.key" -out "$tmp/$1.csr" \
		-subj "/O=b2c-authy test/CN=$2"
	mkdir -p "$tmp/ca/new"
	: >"$tmp/ca/index.txt"
	openssl rand -hex 8 >"$tmp/ca/serial"
	cat >"$tmp/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $tmp/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
x509_extensions = client_ext
[ policy_any ]
organizationName = optional
commonName = supplied
[ client_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
	run openssl ca -batch -config "$tmp/ca.cnf" -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
		-startdate 20200101000000Z -enddate 20210101000000Z -notext \
		-in "$tmp/$1.csr" -out "$dir/$1.pem"
}

server_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth'
client_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

mkca ca "b2c-authy test CA"
mkca other-ca "b2c-authy other CA"
# The machine's own name too, when it is a plain DNS name: the component suite
# calls the mock by it, through curl's resolver.
host_san=
host=$(hostname 2>/dev/null || true)
case $host in
'' | localhost | *[!A-Za-z0-9.-]*) ;;
*) host_san=",DNS:$host" ;;
esac
sign server localhost ca "$server_ext
subjectAltName=DNS:localhost${host_san},IP:127.0.0.1"
sign wrongname wrong.example ca "$server_ext
subjectAltName=DNS:wrong.example"
sign client "b2c client" ca "$client_ext"
sign client2 "b2c client 2" ca "$client_ext"
sign_expired client-expired "b2c client expired"
sign client-other "b2c client other" other-ca "$client_ext"
# TripleDES and SHA-1: the only .pfx encryption B2C accepts (docs/policy.md).
run openssl pkcs12 -export -in "$dir/client.pem" -inkey "$dir/client.key" \
	-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
	-name "b2c client" -passout pass:test -out "$dir/client.pfx"

: >"$tmp/thumbprints.txt"
for name in client client2 client-expired client-other; do
	fp=$(openssl x509 -in "$dir/$name.pem" -noout -fingerprint -sha1)
	fp=${fp#*=}
	fp=${fp//:/}
	printf '%s %s\n' "$name" "${fp,,}" >>"$tmp/thumbprints.txt"
done
mv "$tmp/thumbprints.txt" "$dir/thumbprints.txt"
touch "$dir/ready"
echo "test certificates written to $dir"
