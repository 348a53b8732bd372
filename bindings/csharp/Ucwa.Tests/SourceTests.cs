// Ucwa.Tests/SourceTests.cs: presence from several sources through the C# binding, against a real
// ucwa-sim: PresenceSource in a using block (cleared on dispose, also when the block throws),
// precedence, the preferred availability overriding then handing back, TimeSpan expiries ending
// without a call, the state a recreated application gets, a change elsewhere kept (and
// overwritten with enforce_presence), a flapping source paced, bad input refused with nothing
// changed, and EffectivePresenceChanged events.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;

namespace Ucwa.Tests
{
    internal static class SourceTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";

        private static UcwaClient Available(Sim sim)
        {
            var client = new UcwaClient(sim.Url);
            client.SignIn(Alice, AlicePassword);
            client.MakeMeAvailable();
            return client;
        }

        /// <summary>Whether alice's stored availability and note (null: none) are these within 6 s.</summary>
        private static bool Lands(Sim sim, string availability, string note)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                Dictionary<string, object> u = sim.User(Alice);
                string stored = u.ContainsKey("note") ? u["note"] as string : null;
                if (string.IsNullOrEmpty(stored))
                {
                    stored = null;
                }
                if ((string)u["availability"] == availability && stored == note)
                {
                    return true;
                }
                if (sw.Elapsed > TimeSpan.FromSeconds(6))
                {
                    return false;
                }
                Thread.Sleep(50);
            }
        }

        private static int PresencePosts(Sim sim)
        {
            return sim.Log().Count(e => e.Method == "POST" && e.Route == "presence");
        }

        /// <summary>Waits for an EffectivePresenceChanged that <paramref name="want"/> accepts.</summary>
        private static UcwaEvent Effective(UcwaClient client, Func<UcwaEvent, bool> want)
        {
            var seen = new List<string>();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(8))
            {
                UcwaEvent ev;
                if (!client.TryGetNextEvent(TimeSpan.FromMilliseconds(250), out ev))
                {
                    continue;
                }
                seen.Add(ev.ToString());
                if (ev.Kind == UcwaEventKind.EffectivePresenceChanged && want(ev))
                {
                    return ev;
                }
            }
            throw new AssertionException("no such EffectivePresenceChanged; saw: " + string.Join(", ", seen));
        }

        [Test]
        private static void presence_source_is_set_for_a_using_block_and_cleared_also_when_it_throws()
        {
            using (var sim = new Sim())
            using (UcwaClient client = Available(sim))
            {
                client.SetSourcePresence("lock", Availability.Away);
                Assert.True(Lands(sim, "Away", null), "the lock source decides");
                using (client.PresenceSource("phone", Availability.Busy, "On a call"))
                {
                    Assert.True(Lands(sim, "Busy", "On a call"), "the phone source decides");
                    UcwaEvent ev = Effective(client, e => e.Source == "phone");
                    Assert.Equal(PresenceCause.Set, ev.Cause, "cause");
                    Assert.Equal(Availability.Busy, ev.Availability, "availability");
                    Assert.Equal("On a call", ev.Note, "note");
                    Assert.Equal(11, (int)ev.Kind, "kind value");
                }
                Assert.True(Lands(sim, "Away", null), "cleared on dispose");
                Assert.Throws<InvalidOperationException>(() =>
                {
                    using (client.PresenceSource("phone", Availability.DoNotDisturb))
                    {
                        Assert.True(Lands(sim, "DoNotDisturb", null), "the phone source decides again");
                        throw new InvalidOperationException("the call dropped");
                    }
                }, "the block's exception");
                Assert.True(Lands(sim, "Away", null), "cleared although the block threw");
            }
        }

        [Test]
        private static void the_preferred_availability_overrides_then_hands_back()
        {
            using (var sim = new Sim())
            using (UcwaClient client = Available(sim))
            {
                client.SetSourcePresence("calendar", Availability.Busy, "Meeting");
                client.SetPreferredAvailability(Availability.Online);
                Assert.True(Lands(sim, "Online", null), "the preferred availability decides");
                UcwaEvent ev = Effective(client, e => e.Availability == Availability.Online);
                Assert.Equal(null, ev.Source, "no source decides");
                client.ClearPreferredAvailability();
                Assert.True(Lands(sim, "Busy", "Meeting"), "handed back to the calendar");
                client.SetAvailability(Availability.Away);
                Assert.True(Lands(sim, "Away", null), "set_availability is the preferred choice");
                client.ResetAvailability();
                Assert.True(Lands(sim, "Busy", "Meeting"), "reset hands back to the sources");
            }
        }

        [Test]
        private static void timespan_expiries_restore_the_state_and_note_without_a_call()
        {
            using (var sim = new Sim())
            using (UcwaClient client = Available(sim))
            {
                client.SetSourcePresence("calendar", Availability.Busy);
                client.SetSourcePresence("phone", Availability.DoNotDisturb, null, TimeSpan.FromSeconds(2));
                client.SetPreferredAvailability(Availability.Online, TimeSpan.FromMilliseconds(900));
                client.SetNote("Back at 3");
                client.SetNoteUntil("Lunch", TimeSpan.FromSeconds(1));
                Assert.True(Lands(sim, "Online", "Lunch"), "all layers set");
                Effective(client, e => e.Cause == PresenceCause.Expired && e.Availability == Availability.DoNotDisturb);
                Assert.True(Lands(sim, "DoNotDisturb", "Back at 3"), "the preferred choice and the timed note expired");
                UcwaEvent ev = Effective(client, e => e.Cause == PresenceCause.Expired && e.Availability == Availability.Busy);
                Assert.Equal("calendar", ev.Source, "the calendar decides");
                Assert.True(Lands(sim, "Busy", "Back at 3"), "the phone source expired");
            }
        }

        [Test]
        private static void a_recreated_application_gets_the_effective_state()
        {
            using (var sim = new Sim())
            using (UcwaClient client = Available(sim))
            {
                client.SetSourcePresence("calendar", Availability.Busy, "Meeting");
                Assert.True(Lands(sim, "Busy", "Meeting"), "set");
                sim.Request("POST", "/_sim/users/" + Uri.EscapeDataString(Alice) + "/delete-applications", null);
                var sw = Stopwatch.StartNew();
                bool recreated = false;
                while (!recreated && sw.Elapsed < TimeSpan.FromSeconds(10))
                {
                    UcwaEvent ev;
                    recreated = client.TryGetNextEvent(TimeSpan.FromMilliseconds(250), out ev) && ev.Kind == UcwaEventKind.ApplicationRecreated;
                }
                Assert.True(recreated, "the application was recreated");
                Assert.True(Lands(sim, "Busy", "Meeting"), "the effective state was re-applied");
            }
        }

        [Test]
        private static void a_change_elsewhere_is_kept_and_with_enforce_presence_overwritten()
        {
            using (var sim = new Sim())
            using (UcwaClient client = Available(sim))
            {
                client.SetSourcePresence("phone", Availability.Busy);
                Assert.True(Lands(sim, "Busy", null), "set");
                Thread.Sleep(2500); // past the window in which a read-back is our own POST's rendering
                int posts = PresencePosts(sim);
                sim.SetPresenceElsewhere(Alice, "DoNotDisturb", null);
                UcwaEvent ev = Effective(client, e => e.Cause == PresenceCause.ChangedElsewhere);
                Assert.Equal(Availability.DoNotDisturb, ev.Availability, "adopted availability");
                Assert.Equal(posts, PresencePosts(sim), "presence POSTs: the change was kept");

                client.SetOption("enforce_presence", "1");
                client.SetAvailability(Availability.Online);
                Assert.True(Lands(sim, "Online", null), "set");
                Thread.Sleep(2500);
                sim.SetPresenceElsewhere(Alice, "Away", null);
                Thread.Sleep(300);
                Assert.True(Lands(sim, "Online", null), "enforced");
            }
        }

        [Test]
        private static void a_flapping_source_is_paced_and_its_last_state_lands()
        {
            using (var sim = new Sim())
            using (UcwaClient client = Available(sim))
            {
                int before = PresencePosts(sim);
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 100; i++)
                {
                    client.SetSourcePresence("lock", i % 2 == 0 ? Availability.Away : Availability.Busy);
                    Thread.Sleep(10);
                }
                double flapped = sw.Elapsed.TotalSeconds;
                client.SetSourcePresence("lock", Availability.BeRightBack);
                Assert.True(Lands(sim, "BeRightBack", null), "the last state landed");
                Thread.Sleep(400);
                int posts = PresencePosts(sim) - before;
                int bound = 5 + (int)(flapped / 0.3) + 3;
                Assert.True(posts <= bound, posts + " presence POSTs for 101 changes in " + flapped + " s (at most " + bound + ")");
            }
        }

        [Test]
        private static void every_bad_input_is_refused_and_changes_nothing()
        {
            using (var sim = new Sim())
            using (var client = new UcwaClient(sim.Url))
            {
                client.SignIn(Alice, AlicePassword);
                UcwaException early = Assert.Throws<UcwaException>(() => client.SetSourcePresence("phone", Availability.Busy), "before makeMeAvailable");
                Assert.Equal(UcwaStatus.InvalidState, early.Status, "status");
                client.MakeMeAvailable();
                for (int i = 0; i < 16; i++)
                {
                    client.SetSourcePresence("s" + i, Availability.Online);
                }
                Assert.True(Lands(sim, "Online", null), "16 sources");
                Thread.Sleep(400);
                int posts = PresencePosts(sim);
                var bad = new List<Action>
                {
                    () => client.SetSourcePresence("s99", Availability.Busy),
                    () => client.SetSourcePresence("", Availability.Busy),
                    () => client.SetSourcePresence("a\nb", Availability.Busy),
                    () => client.SetSourcePresence(new string('n', 33), Availability.Busy),
                    () => client.SetSourcePresence("s1", Availability.IdleBusy),
                    () => client.SetSourcePresence("s1", (Availability)99),
                    () => client.SetSourcePresence("s1", Availability.Busy, null, TimeSpan.FromDays(8)),
                    () => client.ClearSourcePresence(null),
                    () => client.SetPreferredAvailability(Availability.Offline),
                    () => client.SetNoteUntil(new string('n', 1025), TimeSpan.FromMinutes(5)),
                };
                foreach (Action a in bad)
                {
                    UcwaException e = Assert.Throws<UcwaException>(a, "bad input");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status of " + e.Message);
                }
                Assert.Throws<ArgumentOutOfRangeException>(() => client.SetSourcePresence("s1", Availability.Busy, null, TimeSpan.Zero), "a zero expiry");
                Thread.Sleep(300);
                Assert.Equal(posts, PresencePosts(sim), "presence POSTs after bad input");
                Assert.True(Lands(sim, "Online", null), "nothing changed");
            }
        }
    }
}
