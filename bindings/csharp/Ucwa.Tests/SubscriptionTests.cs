// Ucwa.Tests/SubscriptionTests.cs: watching other people's presence through UcwaClient against
// ucwa-sim: changes made elsewhere (the control API) arrive as contact events with their
// Contact, unsubscribe stops them, the subscription is extended every subscription_refresh_s and
// never runs out, an unknown contact is the server's 400 and subscribes nothing, and bad
// arguments are refused before anything is sent. Each test also checks the subscription
// requests the simulator saw.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;

namespace Ucwa.Tests
{
    internal static class SubscriptionTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";
        private const string Bob = "bob@contoso.com";
        private const string Carol = "carol@contoso.com";
        private const string BobUri = "sip:bob@contoso.com";
        private const string CarolUri = "sip:carol@contoso.com";

        // Alice, bob and carol (the simulator's default users are only alice and bob).
        private static readonly string[] ThreeUsers =
        {
            "--user", Alice + ":" + AlicePassword, "--user", Bob + ":bob-password", "--user", Carol + ":carol-password",
        };

        private static UcwaClient SignedIn(Sim sim, IDictionary<string, string> options = null)
        {
            var client = new UcwaClient(sim.Url, options);
            client.SignIn(Alice, AlicePassword);
            return client;
        }

        // Alice's requests to the presence subscription resources, in order.
        private static List<LogEntry> SubscriptionRequests(Sim sim)
        {
            return sim.Log().Where(e => e.User == Alice && e.Path.Contains("presenceSubscriptions")).ToList();
        }

        // Alice's requests other than her event channel.
        private static List<LogEntry> Alices(Sim sim)
        {
            return sim.Log().Where(e => e.User == Alice && e.Route != "events").ToList();
        }

        private static string Shape(IEnumerable<LogEntry> log)
        {
            return string.Join(", ", log.Select(e => e.Method + " " + e.Status));
        }

        private static bool IsContactEvent(UcwaEvent ev)
        {
            return ev.Kind == UcwaEventKind.ContactPresenceChanged || ev.Kind == UcwaEventKind.ContactNoteChanged
                || ev.Kind == UcwaEventKind.ContactLocationChanged;
        }

        // Reads events until one matches; fails after 10 s with what was seen.
        private static UcwaEvent WaitFor(UcwaClient client, Func<UcwaEvent, bool> match, string what)
        {
            var seen = new List<UcwaEvent>();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                UcwaEvent ev;
                if (client.TryGetNextEvent(TimeSpan.FromMilliseconds(250), out ev))
                {
                    seen.Add(ev);
                    if (match(ev))
                    {
                        return ev;
                    }
                }
            }
            throw new AssertionException("no " + what + " within 10 s; saw: " + string.Join("; ", seen));
        }

        // Every contact event that arrives within `span` (the whole time is waited).
        private static List<UcwaEvent> ContactEventsFor(UcwaClient client, TimeSpan span)
        {
            var seen = new List<UcwaEvent>();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < span)
            {
                UcwaEvent ev;
                TimeSpan left = span - sw.Elapsed;
                if (left > TimeSpan.Zero && client.TryGetNextEvent(left, out ev) && IsContactEvent(ev))
                {
                    seen.Add(ev);
                }
            }
            return seen;
        }

        [Test]
        private static void presence_note_and_location_changes_of_subscribed_contacts_arrive_with_their_contact()
        {
            using (var sim = new Sim(ThreeUsers))
            using (var client = SignedIn(sim))
            {
                // No MakeMeAvailable: watching others does not need it.
                sim.ClearLog();
                client.SubscribePresence(new[] { "sip:bob@contoso.com", Carol });
                List<LogEntry> subs = SubscriptionRequests(sim);
                Assert.Equal("POST 201", Shape(subs), "one create for both contacts");
                Assert.True(subs[0].Body.Contains(BobUri) && subs[0].Body.Contains(CarolUri), "the create names both: " + subs[0].Body);

                sim.SetPresenceElsewhere(Bob, "Busy", "in-a-meeting");
                UcwaEvent ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactPresenceChanged, "ContactPresenceChanged");
                Assert.Equal(BobUri, ev.Contact, "contact of the presence event");
                Assert.Equal(Availability.Busy, ev.Availability, "bob's availability");
                Assert.Equal("in-a-meeting", ev.Activity, "bob's activity");

                sim.SetNoteElsewhere(Carol, "Back at 3");
                ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactNoteChanged, "ContactNoteChanged");
                Assert.Equal(CarolUri, ev.Contact, "contact of the note event");
                Assert.Equal("Back at 3", ev.Note, "carol's note");
                Assert.Equal("ContactNoteChanged sip:carol@contoso.com Back at 3", ev.ToString(), "ToString");

                sim.SetLocationElsewhere(Bob, "Building 7");
                ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactLocationChanged, "ContactLocationChanged");
                Assert.Equal(BobUri, ev.Contact, "contact of the location event");
                Assert.Equal("Building 7", ev.Location, "bob's location");

                sim.SetLocationElsewhere(Bob, null);
                ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactLocationChanged, "a cleared location");
                Assert.Equal(BobUri, ev.Contact, "contact of the cleared location");
                Assert.True(ev.Location == null, "a cleared location reads as null, got " + ev.Location);
            }
        }

        [Test]
        private static void subscribing_a_contact_again_in_any_spelling_sends_nothing_more()
        {
            using (var sim = new Sim())
            using (var client = SignedIn(sim))
            {
                sim.ClearLog();
                client.SubscribePresence(new[] { Bob, BobUri, Bob });
                Assert.Equal("POST 201", Shape(SubscriptionRequests(sim)), "one create");
                sim.ClearLog();
                client.SubscribePresence(new[] { "SIP:Bob@contoso.com" });
                client.SubscribePresence(new string[0]);
                Assert.Equal("", Shape(SubscriptionRequests(sim)), "nothing more sent");
                sim.SetPresenceElsewhere(Bob, "Away", null);
                UcwaEvent ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactPresenceChanged, "ContactPresenceChanged");
                Assert.Equal(BobUri, ev.Contact, "contact");
                Assert.Equal(Availability.Away, ev.Availability, "availability");
            }
        }

        [Test]
        private static void unsubscribe_stops_a_contacts_events_at_once_while_others_keep_arriving()
        {
            using (var sim = new Sim(ThreeUsers))
            using (var client = SignedIn(sim))
            {
                client.SubscribePresence(new[] { Bob, Carol });
                sim.ClearLog();
                client.UnsubscribePresence(new[] { BobUri });
                List<LogEntry> deletes = SubscriptionRequests(sim).Where(e => e.Method == "DELETE").ToList();
                Assert.Equal("DELETE 204", Shape(deletes), "one DELETE");
                Assert.True(deletes[0].Path.Contains("/memberships/"), "bob's membership goes, not the subscription: " + deletes[0].Path);

                sim.SetPresenceElsewhere(Bob, "Busy", null);
                sim.SetNoteElsewhere(Bob, "gone fishing");
                sim.SetPresenceElsewhere(Carol, "Away", null);
                List<UcwaEvent> seen = ContactEventsFor(client, TimeSpan.FromMilliseconds(1500));
                string all = string.Join("; ", seen);
                Assert.True(seen.Any(e => e.Kind == UcwaEventKind.ContactPresenceChanged && e.Contact == CarolUri && e.Availability == Availability.Away), "carol's change arrives; saw: " + all);
                Assert.True(seen.All(e => e.Contact != BobUri), "nothing of bob; saw: " + all);

                // The last contact: the whole subscription goes, and nothing more arrives.
                sim.ClearLog();
                client.UnsubscribePresence(new[] { Carol, "dave@contoso.com" });
                List<LogEntry> subs = SubscriptionRequests(sim);
                Assert.Equal("DELETE 204", Shape(subs), "the subscription's DELETE");
                Assert.True(!subs[0].Path.Contains("/memberships/"), "the subscription itself: " + subs[0].Path);
                sim.SetPresenceElsewhere(Carol, "Busy", null);
                Assert.Equal(0, ContactEventsFor(client, TimeSpan.FromSeconds(1)).Count, "contact events after the last unsubscribe");
            }
        }

        [Test]
        private static void the_subscription_is_extended_every_subscription_refresh_s_and_never_runs_out()
        {
            // A "minute" of 0.1 s: the 30 minutes the client asks for last 3 s.
            using (var sim = new Sim("--subscription-minute-s", "0.1"))
            using (var client = SignedIn(sim, new Dictionary<string, string> { { "subscription_refresh_s", "1" } }))
            {
                client.SubscribePresence(new[] { Bob });
                Thread.Sleep(5000);
                List<LogEntry> subs = SubscriptionRequests(sim);
                int extensions = subs.Count(e => e.Method == "POST" && e.Path.Contains("duration=30") && e.Status == 204);
                int creates = subs.Count(e => e.Method == "POST" && e.Status == 201);
                Assert.True(extensions >= 3, "about one extension a second: " + Shape(subs));
                Assert.Equal(1, creates, "creates (it never ran out): " + Shape(subs));
                sim.SetPresenceElsewhere(Bob, "DoNotDisturb", null);
                UcwaEvent ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactPresenceChanged, "a change after 5 s");
                Assert.Equal(Availability.DoNotDisturb, ev.Availability, "availability after 5 s");

                foreach (string bad in new[] { "0", "1201", "soon" })
                {
                    UcwaException e = Assert.Throws<UcwaException>(() => client.SetOption("subscription_refresh_s", bad), "subscription_refresh_s " + bad);
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "subscription_refresh_s " + bad);
                }
            }
        }

        [Test]
        private static void an_unknown_contact_is_the_servers_400_and_subscribes_none_of_the_call()
        {
            using (var sim = new Sim())
            using (var client = SignedIn(sim))
            {
                sim.ClearLog();
                UcwaException e = Assert.Throws<UcwaException>(() => client.SubscribePresence(new[] { Bob, "nobody@contoso.com" }), "an unknown contact");
                Assert.Equal(UcwaStatus.Server, e.Status, "status");
                Assert.Equal(400, e.HttpStatus, "HTTP status");
                Assert.Equal("POST 400", Shape(SubscriptionRequests(sim)), "the refused create");
                // Bob, known, was not subscribed either.
                sim.SetPresenceElsewhere(Bob, "Busy", null);
                Assert.Equal(0, ContactEventsFor(client, TimeSpan.FromMilliseconds(1500)).Count, "contact events after the refusal");
                Assert.Equal(1, SubscriptionRequests(sim).Count, "nothing left behind to retry");

                client.SubscribePresence(new[] { Bob });
                Assert.Equal("POST 400, POST 201", Shape(SubscriptionRequests(sim)), "bob alone is accepted");
            }
        }

        [Test]
        private static void bad_arguments_and_no_sign_in_are_refused_before_anything_is_sent()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                UcwaException notSignedIn = Assert.Throws<UcwaException>(() => client.SubscribePresence(new[] { Bob }), "before sign-in");
                Assert.Equal(UcwaStatus.InvalidState, notSignedIn.Status, "before sign-in");
                Assert.Equal(0, sim.Log().Count, "requests before sign-in");

                client.SignIn(Alice, AlicePassword);
                sim.ClearLog();
                var calls = new Dictionary<string, Action<IEnumerable<string>>>
                {
                    { "SubscribePresence", client.SubscribePresence },
                    { "UnsubscribePresence", client.UnsubscribePresence },
                };
                foreach (KeyValuePair<string, Action<IEnumerable<string>>> call in calls)
                {
                    string name = call.Key;
                    Assert.Throws<ArgumentNullException>(() => call.Value(null), name + "(null)");
                    Assert.Throws<ArgumentException>(() => call.Value(new[] { Bob, "a\0b@contoso.com" }), name + " with a NUL");
                    UcwaException e = Assert.Throws<UcwaException>(() => call.Value(new[] { Bob, null }), name + " with a null entry");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, name + " with a null entry");
                    e = Assert.Throws<UcwaException>(() => call.Value(Enumerable.Range(0, 1001).Select(i => "user" + i + "@contoso.com")), name + " with 1001 contacts");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, name + " with 1001 contacts");
                    foreach (string bad in new[] { "", "bob", "bob@contoso.com/../x", "sip:" })
                    {
                        e = Assert.Throws<UcwaException>(() => call.Value(new[] { Bob, bad }), name + " '" + bad + "'");
                        Assert.Equal(UcwaStatus.InvalidArgument, e.Status, name + " '" + bad + "'");
                    }
                }
                Assert.Equal("", Shape(Alices(sim)), "nothing was sent");
            }
        }

        [Test]
        private static void the_subscription_is_made_again_after_the_application_is_recreated()
        {
            using (var sim = new Sim())
            using (var client = SignedIn(sim))
            {
                client.MakeMeAvailable();
                client.SubscribePresence(new[] { Bob });
                sim.ClearLog();
                sim.Request("POST", "/_sim/users/" + Uri.EscapeDataString(Alice) + "/delete-applications", null);
                WaitFor(client, e => e.Kind == UcwaEventKind.ApplicationRecreated, "ApplicationRecreated");
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed < TimeSpan.FromSeconds(5) && !SubscriptionRequests(sim).Any(e => e.Status == 201))
                {
                    System.Threading.Thread.Sleep(50);
                }
                List<LogEntry> creates = SubscriptionRequests(sim).Where(e => e.Status == 201).ToList();
                Assert.Equal(1, creates.Count, "one new subscription: " + Shape(SubscriptionRequests(sim)));
                Assert.True(creates[0].Body.Contains(BobUri), "the new subscription names bob: " + creates[0].Body);
                Assert.Equal(1, sim.Applications(Alice).Count, "applications on the server");
                sim.SetPresenceElsewhere(Bob, "BeRightBack", null);
                UcwaEvent ev = WaitFor(client, e => e.Kind == UcwaEventKind.ContactPresenceChanged, "ContactPresenceChanged");
                Assert.Equal(BobUri, ev.Contact, "contact after recovery");
                Assert.Equal(Availability.BeRightBack, ev.Availability, "bob's availability after recovery");
            }
        }

        [Test]
        private static void subscribe_and_unsubscribe_throw_object_disposed_after_dispose()
        {
            using (var sim = new Sim())
            {
                UcwaClient client = SignedIn(sim);
                client.Dispose();
                sim.ClearLog();
                Assert.Throws<ObjectDisposedException>(() => client.SubscribePresence(new[] { Bob }), "SubscribePresence after Dispose");
                Assert.Throws<ObjectDisposedException>(() => client.UnsubscribePresence(new[] { Bob }), "UnsubscribePresence after Dispose");
                Assert.Equal(0, sim.Log().Count, "requests after Dispose");
            }
        }
    }
}
