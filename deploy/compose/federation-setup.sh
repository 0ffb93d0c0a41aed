#!/bin/sh
# Makes both organisations' federation certificates (org-a's development CA signs both
# leaves; use your own CA in production) and registers each as the other's peer, once.
set -eu
[ -f /federation/done ] && { echo "federation already set up"; exit 0; }

# init ORG DATABASE [CA args]: the certificate, and the peer-add arguments it prints.
init() {
  org=$1 database=$2; shift 2
  CARAVAN__DATABASE__URL=$database CARAVAN__FEDERATION__NAME=$org \
    caravan federation init --out "/federation/$org" --host "caravan-${org#org-}" "$@" > "/tmp/$org.txt"
  sed -n 's/^  --subject "\(.*\)"$/\1/p' "/tmp/$org.txt" > "/tmp/$org.subject"
  sed -n 's/^  --fingerprint \(.*\)$/\1/p' "/tmp/$org.txt" > "/tmp/$org.fingerprint"
  sed -n 's/^  --signing-key \(.*\)$/\1/p' "/tmp/$org.txt" > "/tmp/$org.key"
}

# register ON_DATABASE PEER: adds PEER (its listener, certificate and key) to a catalog.
register() {
  CARAVAN__DATABASE__URL=$1 caravan peer add "$2" --url "https://caravan-${2#org-}:8443" \
    --subject "$(cat "/tmp/$2.subject")" --fingerprint "$(cat "/tmp/$2.fingerprint")" \
    --signing-key "$(cat "/tmp/$2.key")"
}

init org-a "$DATABASE_A"
init org-b "$DATABASE_B" --ca-cert /federation/org-a/ca.pem --ca-key /federation/org-a/ca.key
register "$DATABASE_A" org-b
register "$DATABASE_B" org-a
# The CA key stays only where a new leaf is to be signed; the replicas never read it.
rm -f /federation/org-a/ca.key
touch /federation/done
echo "org-a and org-b are peers"
