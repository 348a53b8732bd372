// Ucwa.Tests/ClientTests.cs: the binding's behaviour against a real ucwa-sim: each test starts
// its own simulator, drives UcwaClient, and asserts on what the client returned and on what the
// simulator saw (its request log and user state).

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;

namespace Ucwa.Tests
{
    internal static class ClientTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";

        private static UcwaClient SignedIn(Sim sim)
        {
            var client = new UcwaClient(sim.Url);
            client.SignIn(Alice, AlicePassword);
            return client;
        }

        private static List<LogEntry> OnRoute(Sim sim, string method, string route)
        {
            return sim.Log().Where(e => e.Method == method && e.Route == route).ToList();
        }

        private static string BodyField(LogEntry entry, string field)
        {
            var body = (Dictionary<string, object>)Json.Parse(entry.Body);
            return body.ContainsKey(field) ? body[field] as string : null;
        }

        private static bool WaitFor(Func<bool> condition, TimeSpan within)
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < within)
            {
                if (condition())
                {
                    return true;
                }
                Thread.Sleep(50);
            }
            return condition();
        }

        [Test]
        private static void library_reports_abi_version_1_and_a_version_string()
        {
            Assert.Equal(1u, UcwaLibrary.AbiVersion, "native ABI version");
            Assert.True(!string.IsNullOrEmpty(UcwaLibrary.Version), "library version is empty");
            Assert.Equal("invalid handle", UcwaLibrary.DescribeStatus(UcwaStatus.InvalidHandle), "status description");
        }

        [Test]
        private static void full_flow_sets_presence_note_location_and_signs_out()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                client.MakeMeAvailable();
                client.SetAvailability(Availability.Busy);
                Presence presence = client.GetPresence();
                Assert.Equal(Availability.Busy, presence.Availability, "availability read back");

                client.SetNote("Working from the lab");
                Assert.Equal("Working from the lab", client.GetNote(), "note read back");
                client.SetLocation("Building 7");
                Assert.Equal("Building 7", client.GetLocation(), "location read back");
                client.ReportActivity();

                List<LogEntry> log = sim.Log();
                List<LogEntry> presencePosts = log.Where(e => e.Method == "POST" && e.Route == "presence").ToList();
                Assert.Equal(1, presencePosts.Count, "POSTs on route presence");
                Assert.Equal("Busy", BodyField(presencePosts[0], "availability"), "availability the server received");
                Assert.Equal(1, log.Count(e => e.Method == "POST" && e.Route == "makeMeAvailable"), "makeMeAvailable POSTs");
                Assert.Equal("Working from the lab", BodyField(log.Single(e => e.Method == "POST" && e.Route == "note"), "message"), "note the server received");
                Assert.Equal(1, log.Count(e => e.Method == "POST" && e.Route == "location"), "location POSTs");
                Assert.True(log.Any(e => e.Method == "POST" && e.Route == "reportMyActivity" && e.Status / 100 == 2), "a successful reportMyActivity POST");
                // Before the token only discovery and the anonymous challenge go out; after it, everything carries the token.
                long tokenSeq = log.Single(e => e.Route == "token").Seq;
                Assert.True(log.Where(e => e.Seq > tokenSeq).All(e => e.Authorization), "a request after the token went without it");
                // Every request the server saw was sent by this client, so the count covers them.
                Assert.True(client.RequestCount >= log.Count(e => e.Route != "events"), "RequestCount " + client.RequestCount + " below the logged requests");

                Dictionary<string, object> user = sim.User(Alice);
                Assert.Equal("Busy", (string)user["availability"], "sim availability");
                Assert.Equal("Working from the lab", (string)user["note"], "sim note");
                Assert.Equal("Building 7", (string)user["location"], "sim location");
                var apps = (List<object>)user["applications"];
                Assert.Equal(1, apps.Count, "applications while signed in");
                Assert.True((bool)((Dictionary<string, object>)apps[0])["made_available"], "application made available");

                client.SignOut();
                Assert.Equal(0, sim.Applications(Alice).Count, "applications after sign-out");
                Assert.Equal(1, OnRoute(sim, "DELETE", "application").Count, "DELETEs of the application");
            }
        }

        [Test]
        private static void wrong_password_throws_authentication_without_the_password_in_the_message()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                const string wrong = "not-alice-password-5731";
                UcwaException e = Assert.Throws<UcwaException>(() => client.SignIn(Alice, wrong), "sign in with a wrong password");
                Assert.Equal(UcwaStatus.Authentication, e.Status, "status");
                Assert.True(!e.Message.Contains(wrong), "the message contains the password: " + e.Message);
                Assert.True(!e.ToString().Contains(wrong), "the exception text contains the password");
                List<LogEntry> log = sim.Log();
                Assert.True(log.Any(x => x.Route == "token" && x.Status >= 400), "the token endpoint refused the password");
                Assert.Equal(0, log.Count(x => x.Route == "applications"), "requests on route applications");
                Assert.Equal(0, sim.Applications(Alice).Count, "applications after a failed sign-in");
            }
        }

        [Test]
        private static void set_availability_before_make_me_available_is_invalid_state_and_sends_nothing()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                UcwaException e = Assert.Throws<UcwaException>(() => client.SetAvailability(Availability.Busy), "set before makeMeAvailable");
                Assert.Equal(UcwaStatus.InvalidState, e.Status, "status");
                Assert.Equal(0, e.HttpStatus, "no HTTP status: nothing was sent");
                Assert.Equal(0, sim.Log().Count(x => x.Route == "presence"), "requests on route presence");
            }
        }

        [Test]
        private static void out_of_range_availability_is_invalid_argument_and_sends_nothing()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable(Availability.Online);
                sim.ClearLog();
                foreach (Availability bad in new[] { (Availability)42, (Availability)(-1), Availability.IdleOnline, Availability.Unknown, Availability.Unspecified })
                {
                    UcwaException e = Assert.Throws<UcwaException>(() => client.SetAvailability(bad), "SetAvailability(" + (int)bad + ")");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status for " + (int)bad);
                }
                UcwaException m = Assert.Throws<UcwaException>(() => client.MakeMeAvailable((Availability)99), "MakeMeAvailable(99)");
                Assert.Equal(UcwaStatus.InvalidArgument, m.Status, "MakeMeAvailable status");
                List<LogEntry> log = sim.Log();
                Assert.Equal(0, log.Count(x => x.Method == "POST" && (x.Route == "presence" || x.Route == "makeMeAvailable")), "POSTs on presence/makeMeAvailable (the GETs that follow makeMeAvailable's events run on their own)");
            }
        }

        [Test]
        private static void server_409_surfaces_http_status_code_and_subcode()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                sim.AddFault("{\"route\":\"presence\",\"method\":\"POST\",\"count\":1,\"action\":{\"Respond\":{\"status\":409,"
                    + "\"headers\":[[\"Content-Type\",\"application/json\"]],"
                    + "\"body\":\"{\\\"code\\\":\\\"Conflict\\\",\\\"subcode\\\":\\\"ResourceInUse\\\",\\\"message\\\":\\\"Presence is being changed elsewhere\\\"}\"}}}");
                UcwaException e = Assert.Throws<UcwaException>(() => client.SetAvailability(Availability.Away), "set presence against a 409");
                Assert.Equal(UcwaStatus.Server, e.Status, "status");
                Assert.Equal(409, e.HttpStatus, "HTTP status");
                Assert.Equal("Conflict", e.Code, "code");
                Assert.Equal("ResourceInUse", e.Subcode, "subcode");
                Assert.True(sim.Log().Any(x => x.Route == "presence" && x.Method == "POST" && x.Status == 409), "the sim answered 409 on presence");

                // The fault was for one request only: the next attempt goes through.
                client.SetAvailability(Availability.Away);
                Assert.Equal("Away", (string)sim.User(Alice)["availability"], "sim availability after the retry");
            }
        }

        [Test]
        private static void presence_change_from_another_device_raises_event_received()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                var seen = new List<UcwaEvent>();
                var arrived = new ManualResetEvent(false);
                client.EventReceived += (sender, args) =>
                {
                    Assert.True(ReferenceEquals(sender, client), "sender is the client");
                    lock (seen)
                    {
                        seen.Add(args.Event);
                    }
                    if (args.Event.Kind == UcwaEventKind.PresenceChanged && args.Event.Activity == "in-a-meeting")
                    {
                        arrived.Set();
                    }
                };
                client.MakeMeAvailable();
                sim.SetPresenceElsewhere(Alice, "Away", "in-a-meeting");
                bool got = arrived.WaitOne(TimeSpan.FromSeconds(15));
                string all;
                lock (seen)
                {
                    all = string.Join("; ", seen.Select(x => x.ToString()));
                }
                Assert.True(got, "no PresenceChanged event with activity in-a-meeting; events seen: " + all);
                UcwaEvent ev;
                lock (seen)
                {
                    ev = seen.Last(x => x.Kind == UcwaEventKind.PresenceChanged && x.Activity == "in-a-meeting");
                }
                string simAvailability = (string)sim.User(Alice)["availability"];
                Assert.Equal(simAvailability, ev.Availability.ToString(), "event availability matches the sim's");
                Assert.True(sim.Log().Any(x => x.Route == "events" && x.Method == "GET" && x.Status == 200), "the client's P-GET received the change");
            }
        }

        [Test]
        private static void try_get_next_event_polls_events_and_reports_signed_out()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                sim.SetPresenceElsewhere(Alice, "Busy", "on-the-phone");
                UcwaEvent found = null;
                var sw = Stopwatch.StartNew();
                var kinds = new List<string>();
                while (found == null && sw.Elapsed < TimeSpan.FromSeconds(15))
                {
                    UcwaEvent ev;
                    if (client.TryGetNextEvent(TimeSpan.FromMilliseconds(500), out ev))
                    {
                        kinds.Add(ev.ToString());
                        if (ev.Kind == UcwaEventKind.PresenceChanged && ev.Activity == "on-the-phone")
                        {
                            found = ev;
                        }
                    }
                    else
                    {
                        Assert.True(ev == null, "a timed-out wait returned an event");
                    }
                }
                Assert.True(found != null, "no PresenceChanged event with activity on-the-phone; saw: " + string.Join("; ", kinds));

                client.SignOut();
                bool signedOut = false;
                UcwaException end = null;
                sw.Restart();
                while (end == null && sw.Elapsed < TimeSpan.FromSeconds(10))
                {
                    try
                    {
                        UcwaEvent ev;
                        if (client.TryGetNextEvent(TimeSpan.FromMilliseconds(200), out ev) && ev.Kind == UcwaEventKind.SignedOut)
                        {
                            signedOut = true;
                            Assert.True(ev.Reason == null, "a host sign-out has no reason, got: " + (ev.Reason == null ? "" : ev.Reason.Message));
                        }
                    }
                    catch (UcwaException e)
                    {
                        end = e;
                    }
                }
                Assert.True(signedOut, "no SignedOut event after SignOut");
                Assert.True(end != null, "TryGetNextEvent kept waiting after sign-out and drain");
                Assert.Equal(UcwaStatus.InvalidState, end.Status, "status once signed out and drained");
            }
        }

        [Test]
        private static void own_changes_arrive_as_presence_note_and_location_events()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                client.SetAvailability(Availability.DoNotDisturb);
                client.SetNote("Back at 4");
                client.SetLocation("Room 101");
                bool presence = false, note = false, location = false;
                var seen = new List<string>();
                var sw = Stopwatch.StartNew();
                while (!(presence && note && location) && sw.Elapsed < TimeSpan.FromSeconds(15))
                {
                    UcwaEvent ev;
                    if (!client.TryGetNextEvent(TimeSpan.FromMilliseconds(250), out ev))
                    {
                        continue;
                    }
                    seen.Add(ev.ToString());
                    presence |= ev.Kind == UcwaEventKind.PresenceChanged && ev.Availability == Availability.DoNotDisturb;
                    note |= ev.Kind == UcwaEventKind.NoteChanged && ev.Note == "Back at 4";
                    location |= ev.Kind == UcwaEventKind.LocationChanged && ev.Location == "Room 101";
                }
                string all = string.Join("; ", seen);
                Assert.True(presence, "no PresenceChanged DoNotDisturb event; saw: " + all);
                Assert.True(note, "no NoteChanged event with the note; saw: " + all);
                Assert.True(location, "no LocationChanged event with the location; saw: " + all);
            }
        }

        [Test]
        private static void lost_application_is_reported_with_a_reason_and_recreated()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                sim.Request("POST", "/_sim/users/" + Uri.EscapeDataString(Alice) + "/delete-applications", null);
                UcwaEvent recovering = null;
                bool recreated = false, recovered = false;
                var seen = new List<string>();
                var sw = Stopwatch.StartNew();
                while (!(recreated && recovered) && sw.Elapsed < TimeSpan.FromSeconds(15))
                {
                    UcwaEvent ev;
                    if (!client.TryGetNextEvent(TimeSpan.FromMilliseconds(250), out ev))
                    {
                        continue;
                    }
                    seen.Add(ev.ToString());
                    if (ev.Kind == UcwaEventKind.ConnectionStateChanged && ev.ConnectionState == ConnectionState.Recovering && recovering == null)
                    {
                        recovering = ev;
                    }
                    recreated |= ev.Kind == UcwaEventKind.ApplicationRecreated;
                    recovered |= ev.Kind == UcwaEventKind.ConnectionStateChanged && ev.ConnectionState == ConnectionState.Recovered;
                }
                string all = string.Join("; ", seen);
                Assert.True(recovering != null, "no Recovering event; saw: " + all);
                Assert.True(recovering.Reason != null, "the Recovering event carries no reason");
                Assert.Equal(UcwaStatus.Server, recovering.Reason.Status, "reason status");
                Assert.Equal(404, recovering.Reason.HttpStatus, "reason HTTP status");
                Assert.Equal("ApplicationNotFound", recovering.Reason.Subcode, "reason subcode");
                Assert.True(recreated, "no ApplicationRecreated event; saw: " + all);
                Assert.True(recovered, "no Recovered event; saw: " + all);
                Assert.Equal(1, sim.Applications(Alice).Count, "applications after recovery");
                Assert.Equal(2, OnRoute(sim, "POST", "applications").Count, "POSTs on applications (sign-in and recreation)");
            }
        }

        [Test]
        private static void dispose_signs_out_and_a_second_dispose_is_harmless()
        {
            using (var sim = new Sim())
            {
                UcwaClient client = SignedIn(sim);
                client.MakeMeAvailable();
                Assert.Equal(1, sim.Applications(Alice).Count, "applications while signed in");
                client.Dispose();
                Assert.Equal(0, sim.Applications(Alice).Count, "applications after Dispose");
                Assert.Equal(1, OnRoute(sim, "DELETE", "application").Count, "DELETEs of the application");
                client.Dispose();
                Assert.Equal(1, OnRoute(sim, "DELETE", "application").Count, "DELETEs after a second Dispose");
            }
        }

        [Test]
        private static void dispose_stops_the_event_reader_and_signs_out()
        {
            using (var sim = new Sim())
            {
                UcwaClient client = SignedIn(sim);
                int events = 0;
                client.EventReceived += (s, a) => Interlocked.Increment(ref events);
                client.MakeMeAvailable();
                var sw = Stopwatch.StartNew();
                client.Dispose();
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(7), "Dispose took " + sw.Elapsed.TotalSeconds + " s with a reader running");
                Assert.Equal(0, sim.Applications(Alice).Count, "applications after Dispose");
                int atDispose = Volatile.Read(ref events);
                sim.SetPresenceElsewhere(Alice, "Away", "in-a-meeting");
                Thread.Sleep(1000);
                Assert.Equal(atDispose, Volatile.Read(ref events), "handler calls after Dispose");
            }
        }

        [Test]
        private static void every_member_throws_object_disposed_after_dispose()
        {
            using (var sim = new Sim())
            {
                UcwaClient client = SignedIn(sim);
                client.Dispose();
                sim.ClearLog();
                UcwaEvent ignored;
                var calls = new Dictionary<string, Action>
                {
                    { "SignIn", () => client.SignIn(Alice, AlicePassword) },
                    { "SignInWithTokens", () => client.SignInWithTokens(Alice) },
                    { "SignIn with a grant", () => client.SignIn(Alice, AlicePassword, UcwaGrant.Password) },
                    { "SignInCurrentUser", () => client.SignInCurrentUser() },
                    { "SetToken", () => client.SetToken("http://127.0.0.1:1", "t0ken", TimeSpan.FromMinutes(1)) },
                    { "MakeMeAvailable", () => client.MakeMeAvailable() },
                    { "SetAvailability", () => client.SetAvailability(Availability.Busy) },
                    { "ResetAvailability", () => client.ResetAvailability() },
                    { "GetPresence", () => client.GetPresence() },
                    { "SetNote", () => client.SetNote("x") },
                    { "GetNote", () => client.GetNote() },
                    { "SetLocation", () => client.SetLocation("x") },
                    { "GetLocation", () => client.GetLocation() },
                    { "ReportActivity", () => client.ReportActivity() },
                    { "SignOut", () => client.SignOut() },
                    { "SetOption", () => client.SetOption("timeout_ms", "1000") },
                    { "RequestCount", () => { long n = client.RequestCount; } },
                    { "TryGetNextEvent", () => client.TryGetNextEvent(TimeSpan.Zero, out ignored) },
                    { "EventReceived", () => client.EventReceived += (s, a) => { } },
                };
                foreach (KeyValuePair<string, Action> call in calls)
                {
                    Assert.Throws<ObjectDisposedException>(call.Value, call.Key + " after Dispose");
                }
                Assert.Equal(0, sim.Log().Count, "requests sent after Dispose");
            }
        }

        [Test]
        private static void utf8_note_and_location_round_trip()
        {
            const string note = "Grüße aus Zürich ☕ 日本語 🎉 \"quoted\"";
            const string location = "Salle Ωmega – 3ᵉ étage";
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                client.SetNote(note);
                client.SetLocation(location);
                Assert.Equal(note, client.GetNote(), "note read back");
                Assert.Equal(location, client.GetLocation(), "location read back");
                Dictionary<string, object> user = sim.User(Alice);
                Assert.Equal(note, (string)user["note"], "note the sim stored");
                Assert.Equal(location, (string)user["location"], "location the sim stored");
                Assert.Equal(note, BodyField(OnRoute(sim, "POST", "note").Single(), "message"), "note body the sim received");

                client.SetNote(null);
                Assert.True(client.GetNote() == null, "note after clearing with null");
                Assert.True(sim.User(Alice)["note"] == null, "sim note after clearing");
            }
        }

        [Test]
        private static void strings_the_c_abi_cannot_carry_are_rejected_before_sending()
        {
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                sim.ClearLog();
                Assert.Throws<ArgumentException>(() => client.SetNote("before\0after"), "note with a NUL");
                Assert.Throws<ArgumentException>(() => client.SetLocation("lone \ud800 surrogate"), "location with a lone surrogate");
                Assert.Throws<ArgumentNullException>(() => client.SetOption("timeout_ms", null), "null option value");
                // POSTs only: the library GETs note and location in the background after
                // makeMeAvailable, because real servers announce them without _embedded.
                Assert.Equal(0, sim.Log().Count(x => x.Method == "POST" && (x.Route == "note" || x.Route == "location")), "POSTs on note/location");
            }
        }

        [Test]
        private static void unknown_option_is_invalid_argument_and_options_apply_to_the_application()
        {
            using (var sim = new Sim())
            {
                Assert.Throws<ArgumentNullException>(() => new UcwaClient(null), "null server");
                UcwaException bad = Assert.Throws<UcwaException>(() => new UcwaClient(sim.Url, new Dictionary<string, string> { { "no_such_option", "1" } }), "unknown option");
                Assert.Equal(UcwaStatus.InvalidArgument, bad.Status, "unknown option status");
                UcwaException insecure = Assert.Throws<UcwaException>(() => new UcwaClient("http://ucwa.example.com/"), "plain http off loopback");
                Assert.Equal(UcwaStatus.Insecure, insecure.Status, "http off loopback status");

                var options = new Dictionary<string, string> { { "user_agent", "UcwaCSharpTests/1.0" }, { "endpoint_id", "0c2b7cb6-1b8e-4b4e-9d35-8f1f4c8a2d10" } };
                using (var client = new UcwaClient(sim.Url, options))
                {
                    client.SignIn(Alice, AlicePassword);
                    var app = (Dictionary<string, object>)sim.Applications(Alice).Single();
                    Assert.Equal("UcwaCSharpTests/1.0", (string)app["user_agent"], "user agent the sim recorded");
                    Assert.Equal("0c2b7cb6-1b8e-4b4e-9d35-8f1f4c8a2d10", (string)app["endpoint_id"], "endpoint id the sim recorded");
                    UcwaException twice = Assert.Throws<UcwaException>(() => client.SignIn(Alice, AlicePassword), "second sign-in");
                    Assert.Equal(UcwaStatus.InvalidState, twice.Status, "second sign-in status");
                }
            }
        }

        [Test]
        private static void several_threads_share_one_client()
        {
            const int threads = 6;
            const int rounds = 5;
            Availability[] cycle = { Availability.Online, Availability.Busy, Availability.Away, Availability.BeRightBack };
            using (var sim = new Sim())
            using (UcwaClient client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                sim.ClearLog();
                var failures = new List<Exception>();
                var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
                {
                    try
                    {
                        for (int r = 0; r < rounds; r++)
                        {
                            client.SetAvailability(cycle[(t + r) % cycle.Length]);
                            Presence p = client.GetPresence();
                            Assert.True(p.Availability != Availability.Unspecified, "GetPresence returned Unspecified");
                            client.SetNote("thread " + t + " round " + r);
                            Assert.True(client.GetNote() != null, "GetNote returned null while every thread sets a note");
                        }
                    }
                    catch (Exception e)
                    {
                        lock (failures)
                        {
                            failures.Add(e);
                        }
                    }
                })).ToList();
                workers.ForEach(w => w.Start());
                workers.ForEach(w => w.Join());
                Assert.True(failures.Count == 0, failures.Count + " thread failures, first: " + (failures.Count > 0 ? failures[0].ToString() : ""));

                List<LogEntry> log = sim.Log();
                // Only changes of the presence the library keeps go out, paced (a burst, then one per
                // 300 ms; the last state always lands): at most one POST per call, all successful.
                int presencePosts = log.Count(x => x.Method == "POST" && x.Route == "presence");
                Assert.True(presencePosts >= 1 && presencePosts <= threads * rounds, presencePosts + " presence POSTs");
                Assert.Equal(presencePosts, log.Count(x => x.Method == "POST" && x.Route == "presence" && x.Status / 100 == 2), "successful presence POSTs");
                int notePosts = log.Count(x => x.Method == "POST" && x.Route == "note");
                Assert.True(notePosts >= 1 && notePosts <= threads * rounds, notePosts + " note POSTs");

                client.SetAvailability(Availability.DoNotDisturb);
                Assert.True(WaitFor(() => (string)sim.User(Alice)["availability"] == "DoNotDisturb", TimeSpan.FromSeconds(3)), "sim availability after the threads");
            }
        }
    }
}
