#!/usr/bin/env bash
# policy.sh NAME=VALUE... - build the B2C custom policy files for one tenant.
# Replaces the placeholders of policy/*.xml and writes the results to OUT_DIR
# (default policy/out, git-ignored). Every value is checked first; on any error
# nothing is written. With PACK=DIR (the starter pack's SocialAndLocalAccounts
# folder) the pack's Base and Localization files are written there too, with
# the tenant filled in, so OUT_DIR holds the whole upload set.
#
# Required: TENANT (name, [a-z0-9]+; ".onmicrosoft.com" is accepted and dropped),
#   BASE_URL (https://host[:port][/path] of the responder),
#   EXTENSIONS_APP_ID, EXTENSIONS_OBJECT_ID (b2c-extensions-app: Application ID
#   and Object ID), IEF_APP_ID, PROXY_IEF_APP_ID (IdentityExperienceFramework
#   and ProxyIdentityExperienceFramework Application IDs).
# Optional: FACEBOOK_CLIENT_ID (digits; default 0 = Facebook not configured),
#   OUT_DIR, PACK.
# The responder's provider: PROVIDER=authy (default) or verify, and APP_NAME,
#   the app users approve in as they know it (1-40 printable characters; XML's
#   special characters are escaped). With authy it defaults to "Authy". With
#   verify it is required: the pages name it, and the enrolment page asks for
#   no phone number (Verify's push factor comes from the app, not a number).
# Relying party PolicyIds (default the pack's, so that ours replace the pack's
#   unprotected ones): SIGNIN_POLICY_ID, PROFILEEDIT_POLICY_ID, PASSWORDRESET_POLICY_ID.
# Layered build for a tenant with its own customised policies: EXTENDS=PolicyId
#   of the tenant's extensions file. Our extensions file then becomes
#   AUTHY_EXTENSIONS_ID (default B2C_1A_AuthyExtensions) on top of it, without
#   the pack's settings (the tenant's file has them), so IEF_APP_ID,
#   PROXY_IEF_APP_ID and FACEBOOK_CLIENT_ID are not used; PACK is refused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src="$root/policy"
files=(TrustFrameworkExtensions.xml SignUpOrSignin.xml ProfileEdit.xml PasswordReset.xml)
pack_files=(TrustFrameworkBase.xml TrustFrameworkLocalization.xml)
policy_re='^B2C_1A_[A-Za-z0-9_]{1,80}$'
guid_re='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
url_re='^https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*$'
left_re='yourtenant|\{(BASE_URL|EXTENSIONS_APP_ID|EXTENSIONS_OBJECT_ID)\}'
left_re+='|IdentityExperienceFrameworkAppId|facebook_clientid|\{APP_NAME\}'
left_re+='|(authy|verify):(begin|end)'

TENANT='' BASE_URL='' EXTENSIONS_APP_ID='' EXTENSIONS_OBJECT_ID='' IEF_APP_ID=''
PROXY_IEF_APP_ID='' FACEBOOK_CLIENT_ID='' OUT_DIR="$root/policy/out" PACK=''
SIGNIN_POLICY_ID=B2C_1A_signup_signin PROFILEEDIT_POLICY_ID=B2C_1A_ProfileEdit
PASSWORDRESET_POLICY_ID=B2C_1A_PasswordReset EXTENDS='' AUTHY_EXTENSIONS_ID=''
PROVIDER=authy APP_NAME=''

usage() {
    echo "usage: $0 TENANT=name BASE_URL=https://host[/path] EXTENSIONS_APP_ID=guid" \
        "EXTENSIONS_OBJECT_ID=guid IEF_APP_ID=guid PROXY_IEF_APP_ID=guid" \
        "[FACEBOOK_CLIENT_ID=digits] [OUT_DIR=dir] [PACK=dir]" \
        "[SIGNIN_POLICY_ID=id] [PROFILEEDIT_POLICY_ID=id] [PASSWORDRESET_POLICY_ID=id]" \
        "[EXTENDS=id [AUTHY_EXTENSIONS_ID=id]]" \
        "[PROVIDER=authy [APP_NAME=name] | PROVIDER=verify APP_NAME=name]" >&2
    exit 2
}

errors=0
err() {
    echo "policy: $*" >&2
    errors=$((errors + 1))
}

for arg in "$@"; do
    case $arg in
    TENANT=* | BASE_URL=* | EXTENSIONS_APP_ID=* | EXTENSIONS_OBJECT_ID=* | IEF_APP_ID=* | \
        PROXY_IEF_APP_ID=* | FACEBOOK_CLIENT_ID=* | OUT_DIR=* | PACK=* | SIGNIN_POLICY_ID=* | \
        PROFILEEDIT_POLICY_ID=* | PASSWORDRESET_POLICY_ID=* | EXTENDS=* | AUTHY_EXTENSIONS_ID=* | \
        PROVIDER=* | APP_NAME=*)
        printf -v "${arg%%=*}" '%s' "${arg#*=}"
        ;;
    *)
        echo "policy: unknown argument: $arg" >&2
        usage
        ;;
    esac
done

# Tenant: the name part of name.onmicrosoft.com, lower case letters and digits.
TENANT=${TENANT%.onmicrosoft.com}
if [ -z "$TENANT" ]; then
    err "TENANT is required (the tenant name, as in name.onmicrosoft.com)"
elif ! [[ $TENANT =~ ^[a-z0-9]+$ ]] || [ ${#TENANT} -gt 40 ]; then
    err "TENANT must be 1-40 lower-case letters or digits: '$TENANT'"
fi

# Responder base URL: https only, no query, fragment, credentials or characters
# that would need escaping in XML or sed.
BASE_URL=${BASE_URL%/}
if [ -z "$BASE_URL" ]; then
    err "BASE_URL is required (https://host[:port][/path] of the responder)"
elif ! [[ $BASE_URL =~ $url_re ]]; then
    err "BASE_URL must be https://host[:port][/path], no query: '$BASE_URL'"
fi

# Layered: our extensions go on top of the tenant's own, under their own PolicyId.
ext_id=B2C_1A_TrustFrameworkExtensions
ext_base=B2C_1A_TrustFrameworkLocalization
guids=(EXTENSIONS_APP_ID EXTENSIONS_OBJECT_ID IEF_APP_ID PROXY_IEF_APP_ID)
if [ -n "$EXTENDS" ]; then
    ext_id=${AUTHY_EXTENSIONS_ID:-B2C_1A_AuthyExtensions}
    ext_base=$EXTENDS
    guids=(EXTENSIONS_APP_ID EXTENSIONS_OBJECT_ID)
    [ -z "$PACK" ] || err "PACK and EXTENDS exclude each other (a layered build keeps your own Base)"
elif [ -n "$AUTHY_EXTENSIONS_ID" ]; then
    err "AUTHY_EXTENSIONS_ID needs EXTENDS (the PolicyId of your extensions file)"
fi
for name in EXTENDS ext_id SIGNIN_POLICY_ID PROFILEEDIT_POLICY_ID PASSWORDRESET_POLICY_ID; do
    value=${!name}
    if [ -n "$value" ] && ! [[ $value =~ $policy_re ]]; then
        err "${name/ext_id/AUTHY_EXTENSIONS_ID} must be a PolicyId, B2C_1A_ and letters, digits or _: '$value'"
    fi
done
ids="$ext_id $SIGNIN_POLICY_ID $PROFILEEDIT_POLICY_ID $PASSWORDRESET_POLICY_ID $EXTENDS"
if [ "$(tr ' ' '\n' <<<"$ids" | sed '/^$/d' | sort -fu | wc -l)" -ne "$(wc -w <<<"$ids")" ]; then
    err "the PolicyIds must differ from each other: $ids"
fi

for name in "${guids[@]}"; do
    value=${!name}
    if [ -z "$value" ]; then
        err "$name is required (a GUID; see docs/policy.md)"
    elif ! [[ $value =~ $guid_re ]]; then
        err "$name must be a GUID: '$value'"
    fi
done

if [ -n "$EXTENDS" ]; then
    [ -z "$FACEBOOK_CLIENT_ID" ] || err "FACEBOOK_CLIENT_ID is not used by a layered build (EXTENDS)"
elif [ -z "$FACEBOOK_CLIENT_ID" ]; then
    FACEBOOK_CLIENT_ID=0
    echo "policy: note: FACEBOOK_CLIENT_ID not set; the Facebook button will not work" >&2
elif ! [[ $FACEBOOK_CLIENT_ID =~ ^[0-9]{1,32}$ ]]; then
    err "FACEBOOK_CLIENT_ID must be digits: '$FACEBOOK_CLIENT_ID'"
fi

# The app the pages name: shown to users, so printable, one line, bounded; it
# lands in XML text and attributes (escaped below) and in a sed replacement.
case $PROVIDER in
authy) [ -n "$APP_NAME" ] || APP_NAME=Authy ;;
verify)
    [ -n "$APP_NAME" ] ||
        err "APP_NAME is required with PROVIDER=verify (the name of your app, as users know it)"
    ;;
*) err "PROVIDER must be authy or verify: '$PROVIDER'" ;;
esac
if [ -n "$APP_NAME" ]; then
    if ! printf '%s' "$APP_NAME" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 ||
        printf '%s\n' "$APP_NAME" | LC_ALL=C.UTF-8 grep -qP '[\p{C}\p{Zl}\p{Zp}]'; then
        err "APP_NAME must be printable UTF-8 text (no control or format characters)"
    elif [[ $APP_NAME =~ ^[[:space:]]|[[:space:]]$ ]] ||
        [ "$(printf '%s' "$APP_NAME" | LC_ALL=C.UTF-8 wc -m)" -gt 40 ]; then
        err "APP_NAME must be 1-40 characters, no leading or trailing space: '$APP_NAME'"
    fi
fi

if [ -n "$PACK" ]; then
    for f in "${pack_files[@]}"; do
        [ -f "$PACK/$f" ] || err "PACK: $PACK/$f not found"
    done
fi
[ -n "$OUT_DIR" ] || err "OUT_DIR must not be empty"
[ "$errors" -eq 0 ] || exit 1

# policy_ids FILE: sed expressions that set the PolicyIds of one of our files.
policy_ids() {
    local rp=''
    case $1 in
    SignUpOrSignin.xml) rp="s/B2C_1A_signup_signin/$SIGNIN_POLICY_ID/g" ;;
    ProfileEdit.xml) rp="s/B2C_1A_ProfileEdit/$PROFILEEDIT_POLICY_ID/g" ;;
    PasswordReset.xml) rp="s/B2C_1A_PasswordReset/$PASSWORDRESET_POLICY_ID/g" ;;
    esac
    if [ -n "$rp" ]; then
        printf '%s\n' "$rp" "s|<PolicyId>B2C_1A_TrustFrameworkExtensions</PolicyId>|<PolicyId>$ext_id</PolicyId>|"
    elif [ "$1" = TrustFrameworkExtensions.xml ] && [ -n "$EXTENDS" ]; then
        printf '%s\n' '/<!-- pack:begin -->/,/<!-- pack:end -->/d' \
            "s/B2C_1A_TrustFrameworkExtensions\"/$ext_id\"/g" \
            "s|<PolicyId>B2C_1A_TrustFrameworkLocalization</PolicyId>|<PolicyId>$ext_base</PolicyId>|"
    fi
}

# xml_text TEXT: TEXT escaped for XML text and attribute values, then for the
# replacement of a sed s||| command.
xml_text() {
    local s=$1
    s=${s//'&'/'&amp;'} s=${s//'<'/'&lt;'} s=${s//'>'/'&gt;'}
    s=${s//'"'/'&quot;'} s=${s//"'"/'&apos;'}
    # shellcheck disable=SC1003 # a quoted backslash, not an escaped quote
    s=${s//'\'/'\\'} s=${s//'&'/'\&'} s=${s//'|'/'\|'}
    printf '%s' "$s"
}
app_name=$(xml_text "$APP_NAME")

# provider_blocks: sed expressions that keep the lines of this provider. The
# Authy build drops the markers of its own lines and the commented-out Verify
# blocks, so it is the files as they read; the Verify build drops the Authy
# lines and uncomments its blocks.
provider_blocks() {
    if [ "$PROVIDER" = verify ]; then
        printf '%s\n' '/<!-- authy:begin -->/,/<!-- authy:end -->/d' \
            '/^ *<!-- verify:begin$/d' '/^ *verify:end -->$/d'
    else
        printf '%s\n' '/^ *<!-- authy:\(begin\|end\) -->$/d' \
            '/^ *<!-- verify:begin$/,/^ *verify:end -->$/d'
    fi
}

# subst FILE LABEL [SED-SCRIPT]: the file with every placeholder replaced. The
# header comment that lists the placeholders (a column-0 "<!--" ... "-->" block)
# becomes a note that the file is generated. Proxy first: its placeholder
# contains the other.
subst() {
    local note=''
    [ "$PROVIDER" = authy ] || note=", provider $PROVIDER"
    sed -e "${3:-}" -e "$(provider_blocks)" -e '/^<!--$/,/^-->$/d' \
        -e "1a <!-- Generated by scripts/policy.sh from $2 for $TENANT$note; do not edit. -->" \
        -e "s/yourtenant\.onmicrosoft\.com/$TENANT.onmicrosoft.com/g" \
        -e "s|{BASE_URL}|$BASE_URL|g" \
        -e "s/{EXTENSIONS_APP_ID}/$EXTENSIONS_APP_ID/g" \
        -e "s/{EXTENSIONS_OBJECT_ID}/$EXTENSIONS_OBJECT_ID/g" \
        -e "s/ProxyIdentityExperienceFrameworkAppId/$PROXY_IEF_APP_ID/g" \
        -e "s/IdentityExperienceFrameworkAppId/$IEF_APP_ID/g" \
        -e "s/facebook_clientid/$FACEBOOK_CLIENT_ID/g" \
        -e "s|{APP_NAME}|$app_name|g" \
        "$1"
}

mkdir -p "$OUT_DIR"
tmp=$(mktemp -d "$OUT_DIR/.policy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for f in "${files[@]}"; do
    subst "$src/$f" "policy/$f" "$(policy_ids "$f")" >"$tmp/$f"
done
if [ -n "$PACK" ]; then
    for f in "${pack_files[@]}"; do
        subst "$PACK/$f" "the starter pack's $f" >"$tmp/$f"
    done
fi

# Fail closed if a placeholder survived (a new one added without a value here).
if grep -nE "$left_re" "$tmp"/*.xml >&2; then
    echo "policy: placeholders left in the output (listed above)" >&2
    exit 1
fi

written=()
for f in "$tmp"/*.xml; do
    mv -f "$f" "$OUT_DIR/"
    written+=("$(basename "$f")")
done
echo "policy: wrote ${written[*]} to $OUT_DIR" \
    "(tenant $TENANT.onmicrosoft.com, responder $BASE_URL, provider $PROVIDER, app $APP_NAME)"
if [ -n "$EXTENDS" ]; then
    echo "policy: layered on $EXTENDS: upload TrustFrameworkExtensions.xml (PolicyId $ext_id)" \
        "after your own files, then the relying parties"
fi
