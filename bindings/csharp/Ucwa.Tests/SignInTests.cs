// Ucwa.Tests/SignInTests.cs: sign-in through UcwaClient against the challenge shapes and grant
// lists real pools and their proxies send: challenges folded into one WWW-Authenticate line
// (ucwa-sim --fold-challenges), a password-only grant list, pools that offer no grant the
// sign-in can use (--grants: windows-only under grant=password, password-only under
// grant=windows, anonymous meetings only), the grant option (also given to SignIn as a
// UcwaGrant) and SignInCurrentUser, which off Windows fails before sending anything. The Windows
// grant's handshake itself is in WindowsAuthTests.cs. Each test asserts what the simulator saw,
// above all whether a token request (the only request that carries the password) was made.

using System;
using System.Collections.Generic;
using System.Linq;

namespace Ucwa.Tests
{
    internal static class SignInTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";
        private const string WindowsOnly = "urn:microsoft.rtc:windows";

        /// <summary>The token endpoint's requests: the only ones that carry the password.</summary>
        private static List<LogEntry> TokenRequests(Sim sim)
        {
            return sim.Log().Where(e => e.Route == "token").ToList();
        }

        /// <summary>What each request was, in order: "METHOD route status".</summary>
        private static List<string> Seen(Sim sim)
        {
            return sim.Log().Select(e => e.Method + " " + e.Route + " " + e.Status).ToList();
        }

        private static string Joined(IEnumerable<string> items)
        {
            return "[" + string.Join(", ", items) + "]";
        }

        [Test]
        private static void sign_in_reads_challenges_folded_into_one_line()
        {
            using (var sim = new Sim("--fold-challenges"))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                Assert.Equal(
                    Joined(new[] { "GET discovery 200", "GET user 401", "POST token 200", "GET user 200", "POST applications 201" }),
                    Joined(Seen(sim)), "the requests of the sign-in");
                List<LogEntry> log = sim.Log();
                Assert.Equal(Alice, log[2].User, "the token was granted to alice");
                Assert.True(log[4].Authorization, "the applications POST carries the token");
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in");
            }
        }

        [Test]
        private static void a_password_only_grant_list_signs_in()
        {
            using (var sim = new Sim("--grants", "password"))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                List<LogEntry> tokens = TokenRequests(sim);
                Assert.Equal(1, tokens.Count, "token requests");
                Assert.Equal("POST", tokens[0].Method, "token request method");
                Assert.Equal(200, tokens[0].Status, "token request status");
                Assert.Equal(Joined(new[] { "201" }),
                    Joined(sim.Log().Where(e => e.Method == "POST" && e.Route == "applications").Select(e => e.Status.ToString())),
                    "applications POSTs");
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in");
            }
        }

        [Test]
        private static void grant_password_on_a_windows_only_pool_throws_authentication_naming_its_grants_and_gets_no_password()
        {
            // Under auto this pool would get the Windows grant; grant=password rules that out, so
            // nothing offered is usable and the password must not leave the client.
            foreach (bool fold in new[] { false, true })
            {
                string[] args = fold ? new[] { "--grants", WindowsOnly, "--fold-challenges" } : new[] { "--grants", WindowsOnly };
                using (var sim = new Sim(args))
                using (var client = new UcwaClient(sim.Url, new Dictionary<string, string> { { "grant", "password" } }))
                {
                    UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in (folded: " + fold + ")");
                    Assert.Equal(UcwaStatus.Authentication, e.Status, "status (folded: " + fold + ")");
                    Assert.True(e.Message.Contains("the server offers urn:microsoft.rtc:windows; this sign-in can use password"),
                        "the message names the grants: " + e.Message);
                    Assert.True(!e.ToString().Contains(AlicePassword), "the exception text contains the password");
                    List<string> seen = Seen(sim);
                    Assert.Equal(0, TokenRequests(sim).Count, "token requests, so no password sent: " + Joined(seen));
                    Assert.Equal(0, sim.Log().Count(x => x.Route == "applications"), "requests on route applications");
                    Assert.Equal("GET user 401", seen.Last(), "the challenge was the last thing asked for (folded: " + fold + ")");
                    Assert.Equal(0, sim.Applications(Alice).Count, "applications after the failed sign-in");
                }
            }
        }

        [Test]
        private static void a_pool_offering_only_anonymous_meetings_names_its_grants_and_both_usable_ones()
        {
            using (var sim = new Sim("--grants", "urn:microsoft.rtc:anonmeeting", "--fold-challenges"))
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in");
                Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                Assert.True(e.Message.Contains("the server offers urn:microsoft.rtc:anonmeeting; this sign-in can use password, urn:microsoft.rtc:windows"),
                    "the message names the offered and the usable grants: " + e.Message);
                Assert.True(!e.ToString().Contains(AlicePassword), "the exception text contains the password");
                Assert.Equal(0, TokenRequests(sim).Count, "token requests: " + Joined(Seen(sim)));
                Assert.Equal(0, sim.Log().Count(x => x.Route == "applications"), "requests on route applications");
            }
        }

        [Test]
        private static void grant_windows_on_a_password_only_pool_throws_authentication_without_a_token_request()
        {
            using (var sim = new Sim("--grants", "password"))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SetOption("grant", "windows");
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in with grant=windows");
                Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                Assert.True(e.Message.Contains("the server offers password; this sign-in can use urn:microsoft.rtc:windows"),
                    "the message names the grants: " + e.Message);
                Assert.True(!e.ToString().Contains(AlicePassword), "the exception text contains the password");
                List<string> seen = Seen(sim);
                Assert.Equal(0, TokenRequests(sim).Count, "token requests: " + Joined(seen));
                Assert.Equal(0, sim.Log().Count(x => x.Route == "applications"), "requests on route applications");
                Assert.Equal("GET user 401", seen.Last(), "the challenge was the last thing asked for");
            }
        }

        [Test]
        private static void grant_password_and_auto_sign_in_with_the_password_grant()
        {
            foreach (string grant in new[] { "password", "auto", "AUTO" })
            {
                using (var sim = new Sim())
                using (var client = new UcwaClient(sim.Url))
                {
                    client.SetOption("grant", grant);
                    client.SignIn(Alice, AlicePassword);
                    List<LogEntry> tokens = TokenRequests(sim);
                    Assert.Equal(1, tokens.Count, "token requests with grant=" + grant);
                    Assert.Equal(200, tokens[0].Status, "token request status with grant=" + grant);
                    Assert.Equal(Alice, tokens[0].User, "the token was granted to alice with grant=" + grant);
                    Assert.Equal(1, sim.Applications(Alice).Count, "applications with grant=" + grant);
                }
            }
        }

        [Test]
        private static void bad_grant_values_are_refused_with_invalid_argument_and_change_nothing()
        {
            // A windows-only pool and grant=password: if a refused value had replaced the option
            // (auto or windows), the sign-in below would make token requests.
            using (var sim = new Sim("--grants", WindowsOnly))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SetOption("grant", "password");
                foreach (string bad in new[] { "", "ntlm", "password,windows", "urn:microsoft.rtc:windows", "pass word" })
                {
                    UcwaException e = Assert.Throws<UcwaException>(() => client.SetOption("grant", bad), "grant=\"" + bad + "\"");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status for grant=\"" + bad + "\"");
                    Assert.True(e.Message.Contains("auto, password or windows"), "the message names the choices: " + e.Message);
                }
                Assert.Equal(0, sim.Log().Count, "requests sent by refused options");
                // Still password, which this pool does not offer: sign-in fails before any token request.
                UcwaException auth = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in after the refused values");
                Assert.Equal(UcwaStatus.Authentication, auth.Status, "status");
                Assert.True(auth.Message.Contains("this sign-in can use password"), "the message names the usable grant: " + auth.Message);
                Assert.Equal(0, TokenRequests(sim).Count, "token requests: " + Joined(Seen(sim)));
            }
        }

        [Test]
        private static void a_bearer_only_challenge_names_its_authorization_uri_and_gets_no_password()
        {
            // What an Online or modern-auth pool sends without MsRtcOAuth.
            const string authorize = "https://login.windows.net/common/oauth2/authorize";
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                string challenge = "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", " +
                    "client_id=\"00000004-0000-0ff1-ce00-000000000000\", authorization_uri=\"" + authorize + "\"";
                sim.AddFault("{\"route\":\"user\",\"count\":1,\"action\":{\"Respond\":{\"status\":401,\"headers\":[[\"WWW-Authenticate\"," +
                    Json.Quote(challenge) + "]],\"body\":\"\"}}}");
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in against a Bearer-only challenge");
                Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                Assert.True(e.Message.Contains("401 without an MsRtcOAuth challenge; the server asks for a Bearer token from " + authorize),
                    "the message names the authorization_uri: " + e.Message);
                Assert.True(!e.ToString().Contains(AlicePassword), "the exception text contains the password");
                Assert.Equal(0, TokenRequests(sim).Count, "token requests: " + Joined(Seen(sim)));
            }
        }

        [Test]
        private static void sign_in_with_grant_password_signs_in_with_the_password_grant()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword, UcwaGrant.Password);
                List<LogEntry> tokens = TokenRequests(sim);
                Assert.Equal(1, tokens.Count, "token requests");
                Assert.Equal(200, tokens[0].Status, "token request status");
                Assert.Equal(Alice, tokens[0].User, "the token was granted to alice");
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in");
            }
        }

        [Test]
        private static void the_grant_given_to_sign_in_stays_set_for_later_sign_ins()
        {
            // A windows-only pool: with grant=password there is nothing this sign-in can use, so
            // no token request at all; under auto the Windows grant would be tried (a token request).
            using (var sim = new Sim("--grants", WindowsOnly))
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException first = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword, UcwaGrant.Password), "sign in with UcwaGrant.Password");
                UcwaException second = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in again without a grant");
                foreach (UcwaException e in new[] { first, second })
                {
                    Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                    Assert.True(e.Message.Contains("this sign-in can use password"), "the message names the usable grant: " + e.Message);
                }
                Assert.Equal(0, TokenRequests(sim).Count, "token requests: " + Joined(Seen(sim)));
            }
        }

        [Test]
        private static void an_undefined_grant_is_invalid_argument_before_any_request()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword, (UcwaGrant)7), "sign in with (UcwaGrant)7");
                Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status");
                Assert.True(e.Message.Contains("auto, password or windows"), "the message names the choices: " + e.Message);
                Assert.True(!e.ToString().Contains(AlicePassword), "the exception text contains the password");
                Assert.Equal(0, sim.Log().Count, "requests sent: " + Joined(Seen(sim)));
                Assert.Equal(0L, client.RequestCount, "RequestCount");
            }
        }

        [Test]
        private static void sign_in_current_user_off_windows_throws_at_once_and_the_client_still_signs_in()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignInCurrentUser(), "SignInCurrentUser");
                // On Windows the call really tries SSPI against the simulator, which has no
                // Windows handshake: only "it failed" holds there, the rest is the off-Windows contract.
                if (Environment.OSVersion.Platform != PlatformID.Win32NT)
                {
                    Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                    Assert.True(e.Message.Contains("signing in as the current user needs Windows"), "the message says it needs Windows: " + e.Message);
                    Assert.Equal(0, sim.Log().Count, "requests sent, not even discovery: " + Joined(Seen(sim)));
                    Assert.Equal(0L, client.RequestCount, "RequestCount");
                }
                // Nothing half done: the same client signs in with a password.
                client.SignIn(Alice, AlicePassword);
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after the password sign-in");
            }
        }
    }
}
