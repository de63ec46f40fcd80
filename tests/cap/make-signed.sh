#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make-signed.sh -- signed CAP fixtures made at test time: a CA, a signer, another CA, and the
# Chinese rainstorm warning signed (enveloped XML signature), then tampered with.
#
# Usage: make-signed.sh OUTDIR [CAP-FILE]
# CAP-FILE (default: zh-rainstorm.xml here) is the message signed; its text
# must hold "50毫米", which the tampered copy changes.
# Writes OUTDIR/ca.pem, other-ca.pem, signer.pem (its certificate),
# signed.xml, tampered.xml, sha1.xml (a weak algorithm), keyvalue.xml (a
# bare key, no certificate). Needs openssl and the xmlsec1 program; fails
# (never skips) without them. Keys live only in OUTDIR and only for the test.
set -eu

out=${1:?usage: make-signed.sh OUTDIR [CAP-FILE]}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$(dirname "${2:-$here/zh-rainstorm.xml}")" && pwd)/$(basename "${2:-zh-rainstorm.xml}")
mkdir -p "$out"
cd "$out"

command -v openssl >/dev/null || { echo "make-signed.sh: openssl is missing" >&2; exit 1; }
command -v xmlsec1 >/dev/null || { echo "make-signed.sh: xmlsec1 is missing" >&2; exit 1; }

cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# ca NAME SUBJECT: a self-signed CA, NAME.key and NAME.pem
ca() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 30 -extfile ext.cnf -extensions ca \
		-out "$1.pem" 2>/dev/null
}

ca ca "/CN=Test Warning Authority CA"
ca other-ca "/CN=Some Other CA"
openssl req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr \
	-subj "/CN=yinchuan-met@weather.example.cn" 2>/dev/null
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile ext.cnf -extensions signer -out signer.pem 2>/dev/null

# template SIGNATURE_METHOD DIGEST_METHOD KEYINFO: the rainstorm warning with
# an empty enveloped signature, on stdout.
template() {
	sig='<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'\
'<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'\
"<SignatureMethod Algorithm=\"$1\"/>"\
'<Reference URI=""><Transforms>'\
'<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'\
'<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>'\
"<DigestMethod Algorithm=\"$2\"/>"\
"<DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo>$3</KeyInfo></Signature>"
	sed "s|</alert>|$sig</alert>|" "$src"
}

rsa256=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
sha256=http://www.w3.org/2001/04/xmlenc#sha256
x509='<X509Data><X509Certificate/></X509Data>'
template "$rsa256" "$sha256" "$x509" > template.xml
grep -q '<Signature' template.xml
xmlsec1 --sign --privkey-pem signer.key,signer.pem --output signed.xml template.xml
# One character of the description changed after signing.
sed 's/50毫米/60毫米/' signed.xml > tampered.xml
! cmp -s signed.xml tampered.xml
# SHA-1, which is not accepted, by the same trusted signer.
template http://www.w3.org/2000/09/xmldsig#rsa-sha1 http://www.w3.org/2000/09/xmldsig#sha1 \
	"$x509" > template.xml
xmlsec1 --sign --privkey-pem signer.key,signer.pem --output sha1.xml template.xml
# A bare public key (ds:KeyValue), no certificate.
template "$rsa256" "$sha256" '<KeyValue/>' > template.xml
xmlsec1 --sign --privkey-pem signer.key --output keyvalue.xml template.xml
grep -q '<Modulus>' keyvalue.xml
rm -f ca.key ca.csr other-ca.key other-ca.csr signer.key signer.csr ca.srl ext.cnf template.xml
