// Ucwa.Tests/ProxyTests.cs: the proxy option through UcwaClient, against ucwa-sim and its
// forward proxy (Sim.ProxyUrl, Sim.ProxyEntries, Sim.ProxyRequireCredentials): an explicit
// http:// proxy carries every request in absolute form, with Basic credentials when given
// (never repeated in an exception); none, system and the default go direct to loopback; bad
// values are refused without being repeated. What the proxy saw and what the simulator saw
// are both checked.

using System;
using System.Collections.Generic;
using System.Linq;

namespace Ucwa.Tests
{
    internal static class ProxyTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";

        private static string Joined<T>(IEnumerable<T> items)
        {
            return "[" + string.Join("; ", items) + "]";
        }

        [Test]
        private static void an_explicit_proxy_carries_every_request_in_absolute_form_and_the_flow_works()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SetOption("proxy", sim.ProxyUrl());
                client.SignIn(Alice, AlicePassword);
                client.MakeMeAvailable();
                client.SetAvailability(Availability.Busy);
                Assert.Equal("Busy", (string)sim.User(Alice)["availability"], "sim availability");

                List<ProxyEntry> seen = sim.ProxyEntries();
                Assert.True(seen.Count > 0, "the proxy saw no connection");
                // Discovery is the first request of all, for the simulator's root.
                Assert.Equal("GET " + sim.Url + " HTTP/1.1", seen[0].Line, "the first request through the proxy");
                foreach (ProxyEntry e in seen)
                {
                    string[] parts = e.Line.Split(' ');
                    Assert.True(parts.Length == 3 && parts[0] != "CONNECT" && parts[2] == "HTTP/1.1", "not an absolute-form request: " + e);
                    Assert.True(parts[1].StartsWith(sim.Origin + "/", StringComparison.Ordinal), "absolute form, for the simulator: " + e);
                    Assert.True(e.Answered == 0 && !e.Credentials, "forwarded, without credentials: " + e);
                }
                // And what went through the proxy reached the simulator.
                List<LogEntry> log = sim.Log();
                Assert.Equal("[201]", Joined(log.Where(x => x.Method == "POST" && x.Route == "applications").Select(x => x.Status)), "applications POSTs");
                List<LogEntry> posts = log.Where(x => x.Method == "POST" && x.Route == "presence").ToList();
                Assert.Equal(1, posts.Count, "presence POSTs");
                Assert.True(posts[0].Status / 100 == 2 && posts[0].Authorization && posts[0].User == Alice, "the presence POST: " + posts[0]);
            }
        }

        [Test]
        private static void none_system_and_the_default_go_direct_to_loopback()
        {
            foreach (string choice in new[] { null, "none", "system" })
            {
                string name = choice ?? "the default";
                using (var sim = new Sim())
                    {
                    using (var client = new UcwaClient(sim.Url))
                    {
                        if (choice != null)
                        {
                            // First the proxy, then the choice under test: the later value is the one used.
                            client.SetOption("proxy", sim.ProxyUrl());
                            client.SetOption("proxy", choice);
                        }
                        client.SignIn(Alice, AlicePassword);
                        client.MakeMeAvailable();
                        client.SetAvailability(Availability.Busy);
                        Assert.Equal("Busy", (string)sim.User(Alice)["availability"], "sim availability with " + name);
                        client.SignOut();
                    }
                    Assert.Equal("[]", Joined(sim.ProxyEntries()), "what the proxy saw with " + name);
                    Assert.Equal(1, sim.Log().Count(x => x.Method == "POST" && x.Route == "presence"), "presence POSTs with " + name);
                    Assert.Equal(0, sim.Applications(Alice).Count, "applications after signing out directly with " + name);
                }
            }
        }

        [Test]
        private static void a_proxy_refusing_the_credentials_fails_the_call_without_repeating_its_password()
        {
            const string wrong = "wr0ng-pass";
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                sim.ProxyRequireCredentials("agent", "right-pass");
                client.SetOption("proxy", sim.ProxyUrl("agent", wrong));
                // Over plain http the proxy's 407 is the answer to the first request (discovery).
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "sign in through a refusing proxy");
                Assert.Equal(407, e.HttpStatus, "HTTP status: " + e.Message);
                string text = e.Message + " " + e;
                Assert.True(!text.Contains(wrong), "the exception repeats the proxy password: " + text);
                Assert.True(!text.Contains(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("agent:" + wrong))), "the exception repeats the proxy credentials: " + text);
                Assert.True(!text.Contains(AlicePassword), "the exception repeats the password");
                List<ProxyEntry> seen = sim.ProxyEntries();
                Assert.True(seen.Count > 0 && seen.All(x => x.Answered == 407 && x.Credentials), "the proxy refused credentials it was sent: " + Joined(seen));
                Assert.Equal(0, sim.Log().Count, "requests that reached the server");

                // The same proxy lets the right credentials through: the refusal was the password's.
                client.SetOption("proxy", sim.ProxyUrl("agent", "right-pass"));
                client.SignIn(Alice, AlicePassword);
                List<ProxyEntry> after = sim.ProxyEntries().Skip(seen.Count).ToList();
                Assert.True(after.Count > 0 && after[0].Answered == 0 && after[0].Credentials, "the right credentials were forwarded: " + Joined(after));
                Assert.Equal("[201]", Joined(sim.Log().Where(x => x.Method == "POST" && x.Route == "applications").Select(x => x.Status)), "applications POSTs");
            }
        }

        [Test]
        private static void bad_proxy_values_are_refused_with_invalid_argument_without_being_repeated()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SetOption("proxy", sim.ProxyUrl());
                foreach (string bad in new[]
                {
                    "https://agent:s3cret@proxy:3128",
                    "https://u:s3cret@p:1",
                    "socks5://x:1",
                    "socks5://agent:s3cret@proxy:1080",
                    "http://agent:s3cret@proxy:3128/path",
                    "proxy",
                    "http://a\r\nb:1",
                })
                {
                    UcwaException e = Assert.Throws<UcwaException>(() => client.SetOption("proxy", bad), "proxy=" + bad);
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status for proxy=" + bad);
                    Assert.True(!e.Message.Contains("s3cret") && !e.ToString().Contains("s3cret"), "the exception repeats the value: " + e.Message);
                }
                Assert.Equal(0, sim.Log().Count, "requests sent by refused options");
                // A refused value changes nothing: the explicit proxy still carries the sign-in.
                client.SignIn(Alice, AlicePassword);
                List<ProxyEntry> seen = sim.ProxyEntries();
                Assert.True(seen.Count > 0 && seen[0].Line == "GET " + sim.Url + " HTTP/1.1", "the sign-in went through the proxy: " + Joined(seen));
            }
        }

        /// <summary>The CONNECT line a proxy sees for the simulator: "CONNECT 127.0.0.1:PORT HTTP/1.1".</summary>
        private static string ConnectLine(Sim sim)
        {
            return "CONNECT " + new Uri(sim.Url).Authority + " HTTP/1.1";
        }

        [Test]
        private static void to_a_tls_server_an_explicit_proxy_tunnels_every_connection_with_connect()
        {
            using (var sim = new Sim("--tls"))
            using (var client = new UcwaClient(sim.Url, new Dictionary<string, string> { { "ca_file", sim.CaFile }, { "proxy", sim.ProxyUrl() } }))
            {
                Assert.True(sim.Url.StartsWith("https://", StringComparison.Ordinal), "the simulator runs TLS: " + sim.Url);
                client.SignIn(Alice, AlicePassword);
                client.MakeMeAvailable();
                client.SetAvailability(Availability.Busy);
                Assert.Equal("Busy", (string)sim.User(Alice)["availability"], "sim availability");
                List<ProxyEntry> seen = sim.ProxyEntries();
                Assert.True(seen.Count > 0, "the proxy saw no connection");
                foreach (ProxyEntry e in seen)
                {
                    Assert.Equal(ConnectLine(sim), e.Line, "every connection is a CONNECT to the simulator");
                    Assert.True(e.Answered == 200 && !e.Credentials, "tunnelled, without credentials: " + e);
                }
                // What went through the tunnels reached the simulator.
                Assert.Equal("[201]", Joined(sim.Log().Where(x => x.Method == "POST" && x.Route == "applications").Select(x => x.Status)), "applications POSTs");
                Assert.Equal("[password]", Joined(sim.TokenLog().Select(x => x.Grant)), "the token requests' grants");
            }
        }

        [Test]
        private static void the_windows_handshake_goes_through_its_own_connect_tunnel()
        {
            using (var sim = new Sim("--tls"))
            using (var client = new UcwaClient(sim.Url, new Dictionary<string, string> { { "ca_file", sim.CaFile }, { "proxy", sim.ProxyUrl() } }))
            {
                client.SignIn(Alice, AlicePassword, UcwaGrant.Windows);
                List<TokenLogEntry> log = sim.TokenLog();
                Assert.Equal("[challenge; negotiate; authenticate]", Joined(log.Select(x => x.Leg)), "the handshake's legs: " + Joined(log));
                Assert.True(log.All(x => x.Grant == "urn:microsoft.rtc:windows"), "no password grant: " + Joined(log));
                Assert.Equal(1, log.Select(x => x.Conn).Distinct().Count(), "connections of the handshake: " + Joined(log));
                Assert.Equal("granted alice@contoso.com", log[2].Outcome, "the handshake's outcome");
                List<ProxyEntry> seen = sim.ProxyEntries();
                // The pooled requests' connection and the handshake's dedicated one, each tunnelled.
                Assert.True(seen.Count >= 2, "at least two CONNECTs: " + Joined(seen));
                Assert.True(seen.All(x => x.Line == ConnectLine(sim) && x.Answered == 200), "every connection a CONNECT answered 200: " + Joined(seen));
                Assert.Equal("[201]", Joined(sim.Log().Where(x => x.Method == "POST" && x.Route == "applications").Select(x => x.Status)), "applications POSTs");
            }
        }

        [Test]
        private static void to_a_tls_server_proxy_none_goes_direct()
        {
            using (var sim = new Sim("--tls"))
            using (var client = new UcwaClient(sim.Url, new Dictionary<string, string> { { "ca_file", sim.CaFile } }))
            {
                client.SetOption("proxy", sim.ProxyUrl());
                client.SetOption("proxy", "none");
                client.SignIn(Alice, AlicePassword, UcwaGrant.Windows);
                Assert.Equal("[]", Joined(sim.ProxyEntries()), "what the proxy saw");
                Assert.Equal("[201]", Joined(sim.Log().Where(x => x.Method == "POST" && x.Route == "applications").Select(x => x.Status)), "applications POSTs");
                List<TokenLogEntry> log = sim.TokenLog();
                Assert.True(log.Count > 0 && log.Last().Outcome == "granted alice@contoso.com", "the handshake went direct: " + Joined(log));
            }
        }
    }
}
