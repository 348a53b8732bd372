// Ucwa.Tests/TokenTests.cs: modern authentication through UcwaClient against ucwa-sim
// --modern-auth (every 401 carries only a Bearer challenge naming an authorization_uri on the
// simulator; tokens come from its control API, as an identity provider would issue them):
// a minted token signs in with no token request, a missing token names what to acquire,
// TokenNeeded comes ahead of expiry and a fresh token keeps the session, and bad SetToken
// arguments are refused with nothing sent. Each test also checks what the simulator saw.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;

namespace Ucwa.Tests
{
    internal static class TokenTests
    {
        private const string Alice = "alice@contoso.com";

        private static Sim ModernSim()
        {
            return new Sim("--modern-auth");
        }

        private static int TokenRequests(Sim sim)
        {
            return sim.Log().Count(e => e.Route == "token");
        }

        // Reads events until one matches; fails after `within` with what was seen.
        private static UcwaEvent WaitFor(UcwaClient client, Func<UcwaEvent, bool> match, TimeSpan within, string what)
        {
            var seen = new List<UcwaEvent>();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < within)
            {
                UcwaEvent ev;
                TimeSpan left = within - sw.Elapsed;
                if (left > TimeSpan.Zero && client.TryGetNextEvent(left, out ev))
                {
                    seen.Add(ev);
                    if (match(ev))
                    {
                        return ev;
                    }
                }
            }
            throw new AssertionException("no " + what + " within " + within.TotalSeconds + " s; saw: " + string.Join("; ", seen));
        }

        [Test]
        private static void a_minted_token_signs_in_sets_presence_and_no_token_request_is_sent()
        {
            using (Sim sim = ModernSim())
            using (var client = new UcwaClient(sim.Url))
            {
                MintedToken minted = sim.MintToken(Alice, 600);
                Assert.Equal("Bearer", minted.TokenType, "token type");
                Assert.Equal(sim.Origin, minted.Resource, "the minted token's resource is the simulator's origin");
                client.SetToken(minted.Resource, minted.AccessToken, TimeSpan.FromSeconds(minted.ExpiresIn));
                client.SignInWithTokens(Alice);
                client.MakeMeAvailable();
                client.SetAvailability(Availability.Busy);
                Assert.Equal("Busy", (string)sim.User(Alice)["availability"], "sim availability");

                List<LogEntry> log = sim.Log();
                Assert.Equal(0, log.Count(e => e.Route == "token"), "requests on route token");
                List<LogEntry> posts = log.Where(e => e.Method == "POST" && e.Route == "presence").ToList();
                Assert.Equal(1, posts.Count, "presence POSTs");
                Assert.True(posts[0].Authorization, "the presence POST carried the token");
                Assert.Equal(Alice, posts[0].User, "the presence POST was alice's");
                Assert.True(posts[0].Status / 100 == 2, "the presence POST succeeded: " + posts[0]);
                List<LogEntry> apps = log.Where(e => e.Method == "POST" && e.Route == "applications").ToList();
                Assert.True(apps.Count > 0 && apps.All(e => e.Authorization && e.User == Alice), "the application was created with alice's token");
            }
        }

        [Test]
        private static void without_a_token_sign_in_throws_authentication_naming_resource_and_authorization_uri()
        {
            using (Sim sim = ModernSim())
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignInWithTokens(Alice), "sign in without a token");
                Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                Assert.Equal(sim.Origin, e.AuthResource, "AuthResource");
                Assert.True(e.AuthorizationUri != null && e.AuthorizationUri.EndsWith("/_sim/oauth2/authorize", StringComparison.Ordinal),
                    "AuthorizationUri: " + e.AuthorizationUri);
                Assert.Equal(sim.Origin + "/_sim/oauth2/authorize", e.AuthorizationUri, "AuthorizationUri");
                Assert.Equal(0, sim.Applications(Alice).Count, "applications after the failed sign-in");

                // The pull model: acquire what the exception names, give it, sign in again.
                MintedToken minted = sim.MintToken(Alice, 600);
                client.SetToken(e.AuthResource, minted.AccessToken, TimeSpan.FromMinutes(10));
                client.SignInWithTokens(Alice);
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after signing in with the token");
                Assert.Equal(0, TokenRequests(sim), "requests on route token");
            }
        }

        [Test]
        private static void failures_other_than_a_missing_token_have_no_auth_resource()
        {
            using (Sim sim = ModernSim())
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException e = Assert.Throws<UcwaException>(() => client.MakeMeAvailable(), "makeMeAvailable before sign-in");
                Assert.Equal(UcwaStatus.InvalidState, e.Status, "status");
                Assert.True(e.AuthResource == null && e.AuthorizationUri == null, "AuthResource " + e.AuthResource + ", AuthorizationUri " + e.AuthorizationUri);
            }
        }

        [Test]
        private static void token_needed_arrives_ahead_of_expiry_and_a_fresh_token_keeps_the_session()
        {
            using (Sim sim = ModernSim())
            using (var client = new UcwaClient(sim.Url))
            {
                MintedToken shortLived = sim.MintToken(Alice, 4);
                client.SetToken(sim.Origin, shortLived.AccessToken, TimeSpan.FromSeconds(4));
                client.SignInWithTokens(Alice);
                client.MakeMeAvailable();
                // Half of a 4 s lifetime: about 2 s after SetToken.
                UcwaEvent ev = WaitFor(client, x => x.Kind == UcwaEventKind.TokenNeeded, TimeSpan.FromSeconds(4), "TokenNeeded");
                Assert.Equal(sim.Origin, ev.Resource, "TokenNeeded resource");
                // The token was given before sign-in, so no challenge named a source yet.
                Assert.True(ev.AuthorizationUri == null, "TokenNeeded authorization_uri: " + ev.AuthorizationUri);
                Assert.True(ev.Contact == null && ev.Reason == null, "a TokenNeeded event carries no contact or reason");
                Assert.Equal("TokenNeeded " + sim.Origin, ev.ToString(), "ToString");

                MintedToken fresh = sim.MintToken(Alice, 600);
                client.SetToken(ev.Resource, fresh.AccessToken, TimeSpan.FromMinutes(10));
                Thread.Sleep(TimeSpan.FromSeconds(3)); // past the first token's expiry
                client.SetAvailability(Availability.DoNotDisturb);
                Assert.Equal("DoNotDisturb", (string)sim.User(Alice)["availability"], "sim availability after the renewal");
                LogEntry last = sim.Log().Last(e => e.Method == "POST" && e.Route == "presence");
                Assert.True(last.Authorization && last.Status / 100 == 2, "the presence POST after the renewal: " + last);
                Assert.Equal(0, TokenRequests(sim), "requests on route token");
            }
        }

        [Test]
        private static void bad_set_token_arguments_are_refused_and_nothing_is_sent_or_stored()
        {
            using (Sim sim = ModernSim())
            using (var client = new UcwaClient(sim.Url))
            {
                const string secret = "sec\r\nret-t0ken";
                var invalid = new Dictionary<string, Action>
                {
                    { "not an origin", () => client.SetToken("lyncweb.contoso.com", "t0ken", TimeSpan.FromMinutes(1)) },
                    { "a path after the authority", () => client.SetToken("https://lyncweb.contoso.com/ucwa", "t0ken", TimeSpan.FromMinutes(1)) },
                    { "plain http off loopback", () => client.SetToken("http://lyncweb.contoso.com", "t0ken", TimeSpan.FromMinutes(1)) },
                    { "an empty token", () => client.SetToken(sim.Origin, "", TimeSpan.FromMinutes(1)) },
                    { "a token a header cannot carry", () => client.SetToken(sim.Origin, secret, TimeSpan.FromMinutes(1)) },
                    { "lifetime 0", () => client.SetToken(sim.Origin, "t0ken", TimeSpan.Zero) },
                    { "lifetime under a second", () => client.SetToken(sim.Origin, "t0ken", TimeSpan.FromMilliseconds(500)) },
                    { "a negative lifetime", () => client.SetToken(sim.Origin, "t0ken", TimeSpan.FromSeconds(-60)) },
                    { "lifetime over a week", () => client.SetToken(sim.Origin, "t0ken", TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1)) },
                    { "TimeSpan.MaxValue", () => client.SetToken(sim.Origin, "t0ken", TimeSpan.MaxValue) },
                };
                foreach (KeyValuePair<string, Action> call in invalid)
                {
                    UcwaException e = Assert.Throws<UcwaException>(call.Value, "SetToken with " + call.Key);
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status for " + call.Key);
                    Assert.True(!e.Message.Contains("ret-t0ken"), "the message repeats the token: " + e.Message);
                }
                Assert.Throws<ArgumentNullException>(() => client.SetToken(null, "t0ken", TimeSpan.FromMinutes(1)), "null resource");
                Assert.Throws<ArgumentNullException>(() => client.SetToken(sim.Origin, null, TimeSpan.FromMinutes(1)), "null token");
                Assert.Throws<ArgumentException>(() => client.SetToken(sim.Origin, "t0\0ken", TimeSpan.FromMinutes(1)), "token with a NUL");
                Assert.Throws<ArgumentNullException>(() => client.SignInWithTokens(null), "null username");
                Assert.Equal(0, sim.Log().Count, "requests sent by refused calls");

                // Nothing was stored either: signing in still finds no token for the simulator.
                UcwaException auth = Assert.Throws<UcwaException>(() => client.SignInWithTokens(Alice), "sign in after the refused tokens");
                Assert.Equal(UcwaStatus.Authentication, auth.Status, "status");
                Assert.Equal(sim.Origin, auth.AuthResource, "AuthResource");
            }
        }

        [Test]
        private static void a_refused_token_is_announced_and_a_new_one_given_from_the_event_handler_recovers()
        {
            using (Sim sim = ModernSim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SetToken(sim.Origin, sim.MintToken(Alice, 600).AccessToken, TimeSpan.FromMinutes(10));
                client.SignInWithTokens(Alice);
                client.MakeMeAvailable();
                // The library GETs the announced presence, note and location in the background
                // after makeMeAvailable; let those finish first, so the refused request below is
                // the test's own.
                var sw = Stopwatch.StartNew();
                while (!new[] { "presence", "note", "location" }.All(r => sim.Log().Any(x => x.Method == "GET" && x.Route == r)))
                {
                    Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), "the library did not GET the announced resources");
                    Thread.Sleep(20);
                }
                var announced = new List<UcwaEvent>();
                var renewed = new ManualResetEvent(false);
                Exception inHandler = null;
                client.EventReceived += (sender, args) =>
                {
                    if (args.Event.Kind != UcwaEventKind.TokenNeeded)
                    {
                        return;
                    }
                    lock (announced)
                    {
                        announced.Add(args.Event);
                    }
                    // What a host does: acquire a token for the resource and give it, here on the
                    // reader thread. An exception escaping a handler would end the process, so it
                    // is kept for the test to report.
                    try
                    {
                        ((UcwaClient)sender).SetToken(args.Event.Resource, sim.MintToken(Alice, 600).AccessToken, TimeSpan.FromMinutes(10));
                    }
                    catch (Exception ex)
                    {
                        inHandler = ex;
                    }
                    renewed.Set();
                };
                // The server stops accepting alice's token: the next request gets the 401 again.
                sim.Request("POST", "/_sim/users/" + Uri.EscapeDataString(Alice) + "/expire-tokens", null);
                UcwaException e = Assert.Throws<UcwaException>(() => client.SetAvailability(Availability.Away), "set presence with a refused token");
                Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                Assert.Equal(sim.Origin, e.AuthResource, "AuthResource");
                Assert.Equal(sim.Origin + "/_sim/oauth2/authorize", e.AuthorizationUri, "AuthorizationUri");
                Assert.True(renewed.WaitOne(TimeSpan.FromSeconds(10)), "no TokenNeeded reached the handler");
                Assert.True(inHandler == null, "SetToken in the handler threw: " + inHandler);
                lock (announced)
                {
                    Assert.Equal(sim.Origin, announced[0].Resource, "TokenNeeded resource");
                    Assert.Equal(sim.Origin + "/_sim/oauth2/authorize", announced[0].AuthorizationUri, "TokenNeeded authorization_uri (from the refusing challenge)");
                }
                client.SetAvailability(Availability.Away);
                Assert.Equal("Away", (string)sim.User(Alice)["availability"], "sim availability with the new token");
                Assert.Equal(0, TokenRequests(sim), "requests on route token");
            }
        }
    }
}
