// Ucwa.Tests/WindowsAuthTests.cs: the Windows grant (urn:microsoft.rtc:windows) through
// UcwaClient, against the simulator's token endpoint, which verifies NTLMv2 server-side and binds
// the handshake to its TCP connection: NTLM and Negotiate, DOMAIN\user, Auto choosing the
// password grant when both are offered and UcwaGrant.Windows forcing the handshake, and refused
// passwords and domains. Each test reads the simulator's token log (which legs came, on which
// connection, what it decided) as well as what the client returned. The proxy's CONNECT tunnel
// is in ProxyTests.cs.

using System;
using System.Collections.Generic;
using System.Linq;

namespace Ucwa.Tests
{
    internal static class WindowsAuthTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";
        private const string Windows = "urn:microsoft.rtc:windows";

        private static string Joined<T>(IEnumerable<T> items)
        {
            return "[" + string.Join("; ", items) + "]";
        }

        /// <summary>One whole handshake: the anonymous request, then the NEGOTIATE and
        /// AUTHENTICATE legs in <paramref name="scheme"/>, all on one connection, the last ending
        /// with <paramref name="outcome"/>. Returns its entries.</summary>
        private static List<TokenLogEntry> AssertOneHandshake(List<TokenLogEntry> log, string scheme, string outcome)
        {
            List<TokenLogEntry> windows = log.Where(e => e.Grant == Windows).ToList();
            Assert.Equal("[challenge -; negotiate " + scheme + "; authenticate " + scheme + "]",
                Joined(windows.Select(e => e.Leg + " " + (e.Scheme ?? "-"))), "the legs and their schemes: " + Joined(log));
            Assert.Equal(1, windows.Select(e => e.Conn).Distinct().Count(), "connections of the handshake: " + Joined(windows));
            Assert.Equal(outcome, windows[2].Outcome, "the handshake's outcome: " + Joined(windows));
            return windows;
        }

        [Test]
        private static void a_windows_only_ntlm_pool_signs_in_on_one_connection_and_the_session_works()
        {
            using (var sim = new Sim("--grants", Windows, "--windows-auth", "ntlm"))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                List<TokenLogEntry> log = sim.TokenLog();
                List<TokenLogEntry> legs = AssertOneHandshake(log, "NTLM", "granted alice@contoso.com");
                Assert.Equal("[401; 401; 200]", Joined(legs.Select(e => e.Status)), "the legs' statuses");
                Assert.True(log.All(e => e.Grant == Windows), "no password grant was tried: " + Joined(log));
                Assert.True(!legs.Any(e => e.Spnego), "raw NTLM, not SPNEGO: " + Joined(legs));
                // A UPN travels as the user with an empty domain, as Windows sends it.
                Assert.Equal(Alice, legs[2].NtlmUser, "the NTLM user");
                Assert.Equal("", legs[2].NtlmDomain, "the NTLM domain");
                // The web ticket works on the pool.
                client.MakeMeAvailable();
                client.SetAvailability(Availability.Busy);
                Assert.Equal(Availability.Busy, client.GetPresence().Availability, "the client's presence");
                Assert.Equal("Busy", (string)sim.User(Alice)["availability"], "sim availability");
                List<LogEntry> posts = sim.Log().Where(x => x.Method == "POST" && x.Route == "applications").ToList();
                Assert.True(posts.Count == 1 && posts[0].Status == 201 && posts[0].Authorization, "the applications POST: " + Joined(posts));
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in");
            }
        }

        [Test]
        private static void negotiate_wraps_ntlm_in_spnego_and_signs_in()
        {
            using (var sim = new Sim("--grants", Windows, "--windows-auth", "negotiate"))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                List<TokenLogEntry> legs = AssertOneHandshake(sim.TokenLog(), "Negotiate", "granted alice@contoso.com");
                Assert.True(legs[1].Spnego && legs[2].Spnego, "SPNEGO tokens: " + Joined(legs));
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in");
            }
        }

        [Test]
        private static void negotiate_is_preferred_when_the_pool_offers_both_schemes()
        {
            using (var sim = new Sim("--grants", Windows))
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                List<TokenLogEntry> legs = AssertOneHandshake(sim.TokenLog(), "Negotiate", "granted alice@contoso.com");
                Assert.True(legs[2].Spnego, "SPNEGO tokens: " + Joined(legs));
            }
        }

        [Test]
        private static void with_both_grants_offered_auto_uses_the_password_grant()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                List<TokenLogEntry> log = sim.TokenLog();
                Assert.Equal(1, log.Count, "token requests: " + Joined(log));
                Assert.Equal("password", log[0].Grant, "the grant");
                Assert.True(log[0].Scheme == null && log[0].Leg == null, "no Windows handshake: " + log[0]);
                Assert.Equal("granted alice@contoso.com", log[0].Outcome, "the outcome");
            }
        }

        [Test]
        private static void with_both_grants_offered_grant_windows_uses_the_handshake()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword, UcwaGrant.Windows);
                List<TokenLogEntry> log = sim.TokenLog();
                AssertOneHandshake(log, "Negotiate", "granted alice@contoso.com");
                Assert.True(log.All(e => e.Grant == Windows), "no password grant: " + Joined(log));
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in");
            }
        }

        [Test]
        private static void a_domain_backslash_user_signs_in_as_that_domain_and_user()
        {
            foreach (bool fold in new[] { false, true })
            {
                string[] args = fold ? new[] { "--grants", Windows, "--fold-challenges" } : new[] { "--grants", Windows };
                using (var sim = new Sim(args))
                using (var client = new UcwaClient(sim.Url))
                {
                    client.SignIn("CONTOSO\\alice", AlicePassword);
                    List<TokenLogEntry> legs = AssertOneHandshake(sim.TokenLog(), "Negotiate", "granted alice@contoso.com");
                    Assert.Equal("alice", legs[2].NtlmUser, "the NTLM user (folded: " + fold + ")");
                    Assert.Equal("CONTOSO", legs[2].NtlmDomain, "the NTLM domain (folded: " + fold + ")");
                    Assert.Equal(1, sim.Applications(Alice).Count, "applications after sign-in (folded: " + fold + ")");
                }
            }
        }

        [Test]
        private static void refused_windows_credentials_throw_authentication_without_repeating_the_password()
        {
            var cases = new[]
            {
                new { User = Alice, Password = "not-alices-password", Outcome = "refused: bad password" },
                new { User = "FABRIKAM\\alice", Password = AlicePassword, Outcome = "refused: wrong domain" },
            };
            foreach (var c in cases)
            {
                foreach (string scheme in new[] { "NTLM", "Negotiate" })
                {
                    string what = c.User + " with " + scheme;
                    using (var sim = new Sim("--grants", Windows, "--windows-auth", scheme.ToLowerInvariant()))
                    using (var client = new UcwaClient(sim.Url))
                    {
                        UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(c.User, c.Password), "sign in as " + what);
                        Assert.Equal(UcwaStatus.Authentication, e.Status, "status for " + what);
                        Assert.True(e.Message.Contains("the server refused the Windows credentials of"), "the message says so: " + e.Message);
                        Assert.True(e.Message.Contains(scheme), "the message names " + scheme + ": " + e.Message);
                        Assert.True(!e.ToString().Contains(c.Password), "the exception text repeats the password (" + what + ")");
                        AssertOneHandshake(sim.TokenLog(), scheme, c.Outcome);
                        Assert.Equal(0, sim.Log().Count(x => x.Route == "applications"), "requests on route applications (" + what + ")");
                        Assert.Equal(0, sim.Applications(Alice).Count, "applications after the refusal (" + what + ")");
                    }
                }
            }
        }
    }
}
