#!/usr/bin/env python3
"""A UCWA client written the way field clients that ran against real Lync 2013 / Skype for
Business servers are written (see real-servers.md: dadecoza, jnlasher, danielboth, lyncbot),
Python standard library only. Run against ucwa-sim by tests/field_clients.rs:

    field_client.py ROOT_URL SIGN_IN_NAME PASSWORD SIP_ADDRESS

Field habits reproduced on purpose: absolute-path hrefs joined to a root that ends in "/"
(so requests go to "//ucwa/..."), Accept-Encoding: gzip on every GET with an unconditional
gunzip, DOMAIN\\user sign-in with a quoted charset, the MsRtcOAuth href found by a regex over
the joined WWW-Authenticate headers, PascalCase input, <application>/reportMyActivity built by
hand, `sender` read without a guard, and `updated` events followed with a GET.

Prints one JSON line summarising what it saw; exits non-zero on the first surprise.
"""
import gzip
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def fail(why):
    print("field client: " + why, file=sys.stderr)
    sys.exit(1)


class Client:
    def __init__(self, root):
        parts = urllib.parse.urlsplit(root)
        # dadecoza: url_root keeps its trailing slash; every href is appended to it.
        self.url_root = "%s://%s/" % (parts.scheme, parts.netloc)
        self.token = None

    def join(self, href):
        if href.startswith("http://") or href.startswith("https://"):
            return href
        return self.url_root + href  # "/ucwa/..." gives "//ucwa/..." as in the field

    def request(self, method, url, body=None, content_type=None, accept_gzip=False):
        headers = {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if content_type:
            headers["Content-Type"] = content_type
        if accept_gzip:
            headers["Accept-Encoding"] = "gzip, deflate"
        data = body.encode("utf-8") if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def get(self, url):
        # jnlasher: always asks for gzip on GETs and always gunzips.
        status, headers, raw = self.request("GET", url, accept_gzip=True)
        if raw:
            if headers.get("Content-Encoding") != "gzip":
                fail("GET %s: asked for gzip, got Content-Encoding %r" %
                     (url, headers.get("Content-Encoding")))
            raw = gzip.decompress(raw)
        return status, headers, raw

    def get_json(self, url):
        status, headers, raw = self.get(url)
        if status != 200:
            fail("GET %s: %s %r" % (url, status, raw[:200]))
        # lyncbot after meeting a real server: startswith, not equality.
        if not headers.get("Content-Type", "").startswith("application/json"):
            fail("GET %s: Content-Type %r" % (url, headers.get("Content-Type")))
        return json.loads(raw.decode("utf-8"))

    def post_json(self, url, obj, expect):
        status, _, raw = self.request("POST", url, json.dumps(obj), "application/json")
        if status not in expect:
            fail("POST %s: %s %r" % (url, status, raw[:300]))
        return json.loads(raw.decode("utf-8")) if raw else None


def main():
    root, name, password, sip = sys.argv[1:5]
    c = Client(root)
    summary = {}

    # Discovery: follow the user link (no redirects configured in this run).
    disco = c.get_json(root)
    user_url = disco["_links"]["user"]["href"]

    # The challenge: a regex over the headers as one string (dadecoza / lyncbot).
    status, headers, _ = c.get(user_url)
    if status != 401:
        fail("user without a token: %s" % status)
    joined = ", ".join(headers.get_all("WWW-Authenticate") or [])
    m = re.search(r'MsRtcOAuth href="([^"]*)"', joined)
    if not m or "password" not in joined:
        fail("no usable MsRtcOAuth challenge in %r" % joined)
    token_url = m.group(1)

    # mattermost#9 / dadecoza: DOMAIN\user; the capture's quoted charset.
    form = urllib.parse.urlencode(
        {"grant_type": "password", "username": name, "password": password})
    status, _, raw = c.request(
        "POST", token_url, form, "application/x-www-form-urlencoded;charset='utf-8'")
    if status != 200:
        fail("token: %s %r" % (status, raw[:200]))
    tok = json.loads(raw.decode("utf-8"))
    c.token = tok["access_token"]
    summary["expires_in"] = tok["expires_in"]

    user = c.get_json(user_url)
    apps_url = user["_links"]["applications"]["href"]

    # PascalCase, as the docs and several field clients send it.
    app = c.post_json(apps_url, {"UserAgent": "field-client/1.0", "EndpointId": "field-1",
                                 "Culture": "en-US"}, (201,))
    app_self = c.join(app["_links"]["self"]["href"])
    mma = app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
    events_href = app["_links"]["events"]["href"]
    c.post_json(c.join(mma), {"SupportedModalities": ["Messaging"]}, (204,))

    # Orange / jnlasher: a second POST with the same endpoint answers 200 with the same app.
    again = c.post_json(apps_url, {"UserAgent": "field-client/1.0", "EndpointId": "field-1",
                                   "Culture": "en-US"}, (200,))
    if c.join(again["_links"]["self"]["href"]) != app_self:
        fail("re-POST gave another application")
    if "makeMeAvailable" in again["_embedded"]["me"]["_links"]:
        fail("re-POST lost the made-available state")
    me_links = again["_embedded"]["me"]["_links"]

    # danielboth / dadecoza: reportMyActivity built from the application's own URL.
    status, _, raw = c.request("POST", app_self + "/reportMyActivity", b"")
    if status != 204:
        fail("reportMyActivity at the application: %s %r" % (status, raw[:200]))

    def pget(url):
        ev = c.get_json(url + "&timeout=1")
        # dadecoza / jnlasher index sender without a guard.
        return ev["_links"]["next"]["href"], ev["sender"]

    def drain(url):
        seen = []
        while True:
            url_next, senders = pget(c.join(url))
            url = url_next
            if not senders:
                return url, seen
            for s in senders:
                for e in s["events"]:
                    seen.append(e)

    next_href, first = drain(events_href)
    summary["first_events"] = [[e["link"]["rel"], e["type"], "_embedded" in e] for e in first]

    # Another device changes the presence; the event is followed with a GET.
    ctl = c.url_root + "_sim/users/" + urllib.parse.quote(sip) + "/presence"
    saved, c.token = c.token, None
    status, _, _ = c.request("POST", ctl, json.dumps({"availability": "Away"}),
                             "application/json")
    c.token = saved
    if status != 204:
        fail("control API presence: %s" % status)
    next_href, changes = drain(next_href)
    updated = [e for e in changes if e["link"]["rel"] == "presence" and e["type"] == "updated"]
    if not updated:
        fail("no presence updated event in %r" % changes)
    followed = c.get_json(c.join(updated[-1]["link"]["href"]))
    summary["followed_availability"] = followed["availability"]

    # Set our own presence through the link the application now offers.
    c.post_json(c.join(me_links["presence"]["href"]), {"availability": "Busy"}, (204,))
    summary["own_availability"] = c.get_json(c.join(me_links["presence"]["href"]))["availability"]

    status, _, _ = c.request("DELETE", app_self)
    if status != 204:
        fail("DELETE application: %s" % status)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
