#!/bin/sh
# Test fixture: one org's MSP material in cryptogen's layout, made with the
# openssl CLI. usage: mkorg.sh CRYPTO_DIR peer|orderer DOMAIN NODE...
# (NODE: short host name; peers get tls/server.crt under peers/, orderers
# tls/server.crt and msp/signcerts under orderers/). Users: Admin (OU
# admin) and User1 (OU client).
set -eu
dir=$1; kind=$2; dom=$3; shift 3
base=$dir/${kind}Organizations/$dom
subj="/C=US/ST=California/L=San Francisco"
mkdir -p "$base/ca" "$base/tlsca" "$base/msp/cacerts" "$base/msp/tlscacerts" \
	"$base/msp/admincerts"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }
ca() { # $1 dir $2 cn
	key "$1/priv_sk"
	openssl req -x509 -new -key "$1/priv_sk" -sha256 -days 3650 \
		-subj "$subj/O=$dom/CN=$2" -out "$1/$2-cert.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign" 2>/dev/null
}
leaf() { # $1 cadir $2 cacn $3 keyout $4 certout $5 subject $6 ext
	key "$3"
	openssl req -new -key "$3" -subj "$5" -out "$4.csr" 2>/dev/null
	printf '%s\n' "$6" > "$4.ext"
	openssl x509 -req -in "$4.csr" -CA "$1/$2-cert.pem" -CAkey "$1/priv_sk" \
		-CAcreateserial -days 3650 -sha256 -extfile "$4.ext" -out "$4" 2>/dev/null
	rm -f "$4.csr" "$4.ext" "$1"/*.srl
}
ca "$base/ca" "ca.$dom"
ca "$base/tlsca" "tlsca.$dom"
cp "$base/ca/ca.$dom-cert.pem" "$base/msp/cacerts/"
cp "$base/tlsca/tlsca.$dom-cert.pem" "$base/msp/tlscacerts/"
cat > "$base/msp/config.yaml" <<YML
NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.$dom-cert.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.$dom-cert.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.$dom-cert.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.$dom-cert.pem
    OrganizationalUnitIdentifier: orderer
YML
user() { # $1 name $2 ou
	u=$base/users/$1@$dom/msp
	mkdir -p "$u/signcerts" "$u/keystore" "$u/cacerts" "$u/admincerts"
	cp "$base/msp/cacerts/"* "$u/cacerts/"; cp "$base/msp/config.yaml" "$u/"
	leaf "$base/ca" "ca.$dom" "$u/keystore/priv_sk" "$u/signcerts/$1@$dom-cert.pem" \
		"$subj/OU=$2/CN=$1@$dom" "keyUsage=critical,digitalSignature
basicConstraints=critical,CA:FALSE"
}
user Admin admin
user User1 client
if [ "$kind" = peer ]; then nd=peers; ou=peer; else nd=orderers; ou=orderer; fi
for n in "$@"; do
	h=$n.$dom
	mkdir -p "$base/$nd/$h/tls" "$base/$nd/$h/msp/signcerts" "$base/$nd/$h/msp/keystore"
	leaf "$base/tlsca" "tlsca.$dom" "$base/$nd/$h/tls/server.key" "$base/$nd/$h/tls/server.crt" \
		"$subj/CN=$h" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
basicConstraints=critical,CA:FALSE
subjectAltName=DNS:$h,DNS:$n,DNS:localhost,IP:127.0.0.1"
	leaf "$base/ca" "ca.$dom" "$base/$nd/$h/msp/keystore/priv_sk" \
		"$base/$nd/$h/msp/signcerts/$h-cert.pem" "$subj/OU=$ou/CN=$h" \
		"keyUsage=critical,digitalSignature
basicConstraints=critical,CA:FALSE"
done
