#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make-signed.sh -- signed CAP fixtures made at test time: a CA, a signer, another CA, and the
# Chinese rainstorm warning signed (enveloped XML signature), then tampered with.
#
# Usage: make-signed.sh OUTDIR
# Writes OUTDIR/ca.pem, other-ca.pem, signer.pem (its certificate),
# signed.xml, tampered.xml. Needs openssl and the xmlsec1 program; fails
# (never skips) without them. Keys live only in OUTDIR and only for the test.
set -eu

out=${1:?usage: make-signed.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
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

# The template: the rainstorm warning with an empty enveloped signature.
sig='<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'\
'<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'\
'<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'\
'<Reference URI=""><Transforms>'\
'<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'\
'<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>'\
'<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'\
'<DigestValue/></Reference></SignedInfo><SignatureValue/>'\
'<KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>'
sed "s|</alert>|$sig</alert>|" "$here/zh-rainstorm.xml" > template.xml
grep -q '<Signature' template.xml

xmlsec1 --sign --privkey-pem signer.key,signer.pem --output signed.xml template.xml
# One character of the description changed after signing.
sed 's/50毫米/60毫米/' signed.xml > tampered.xml
! cmp -s signed.xml tampered.xml
rm -f ca.key ca.csr other-ca.key other-ca.csr signer.key signer.csr ca.srl ext.cnf template.xml
