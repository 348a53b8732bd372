// Ucwa.Tests/ContactTests.cs: other people's presence through UcwaClient against ucwa-sim: one
// contact read after changes made elsewhere (control API, the contact's own client), before and
// after MakeMeAvailable; a bulk read of 200 contacts with the number of batch requests the
// simulator saw; unknown contacts; arguments refused before anything is sent.

using System;
using System.Collections.Generic;
using System.Linq;

namespace Ucwa.Tests
{
    internal static class ContactTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";
        private const string Bob = "bob@contoso.com";
        // Parts in one batch request: the library's bound (see ucwa_get_contacts_presence).
        private const int BatchParts = 96;

        // Alice's requests without her event channel and the GETs of her own presence, note and
        // location with which the library follows the events that makeMeAvailable brings.
        private static List<LogEntry> Alices(Sim sim)
        {
            string[] own = { "events", "presence", "note", "location" };
            return sim.Log().Where(e => e.User == Alice && !own.Contains(e.Route)).ToList();
        }

        private static UcwaClient SignedIn(Sim sim)
        {
            var client = new UcwaClient(sim.Url);
            client.SignIn(Alice, AlicePassword);
            return client;
        }

        [Test]
        private static void a_contact_read_shows_changes_made_elsewhere_before_and_after_make_me_available()
        {
            using (var sim = new Sim())
            using (var bob = new UcwaClient(sim.Url))
            {
                bob.SignIn(Bob, "bob-password");
                bob.MakeMeAvailable();
                bob.SetNote("Heads down today");
                bob.SetLocation("Building 7");
                sim.SetPresenceElsewhere(Bob, "Busy", "in-a-meeting");
                using (var client = SignedIn(sim))
                {
                    sim.ClearLog();
                    Presence p = client.GetContactPresence("sip:bob@contoso.com");
                    Assert.Equal(Availability.Busy, p.Availability, "bob's availability");
                    Assert.Equal("in-a-meeting", p.Activity, "bob's activity");
                    Assert.Equal("Heads down today", client.GetContactNote(Bob), "bob's note");
                    Assert.Equal("Building 7", client.GetContactLocation(Bob), "bob's location");
                    List<LogEntry> log = Alices(sim);
                    Assert.Equal(4, log.Count, "the contact once, then its three links");
                    string[] tails = { "/people/bob@contoso.com", "/people/bob@contoso.com/presence", "/people/bob@contoso.com/note", "/people/bob@contoso.com/location" };
                    for (int i = 0; i < 4; i++)
                    {
                        Assert.Equal("GET", log[i].Method, "method of request " + i);
                        Assert.Equal(200, log[i].Status, "status of request " + i);
                        Assert.True(log[i].Path.EndsWith(tails[i], StringComparison.Ordinal), log[i].Path);
                    }

                    client.MakeMeAvailable();
                    sim.SetPresenceElsewhere(Bob, "BeRightBack", null);
                    sim.ClearLog();
                    Assert.Equal(Availability.BeRightBack, client.GetContactPresence(Bob).Availability, "after makeMeAvailable");
                    log = Alices(sim);
                    Assert.Equal(1, log.Count, "the contact's links are kept");
                    Assert.True(log[0].Path.EndsWith("/people/bob@contoso.com/presence", StringComparison.Ordinal), log[0].Path);
                    Assert.Equal("BeRightBack", (string)sim.User(Bob)["availability"], "the simulator's view of bob");
                }
            }
        }

        [Test]
        private static void an_unknown_contact_is_a_404_server_error_alone_and_unknown_in_bulk()
        {
            using (var sim = new Sim())
            using (var client = SignedIn(sim))
            {
                sim.ClearLog();
                var reads = new Action[]
                {
                    () => client.GetContactPresence("sip:nobody@contoso.com"),
                    () => client.GetContactNote("nobody@contoso.com"),
                    () => client.GetContactLocation("nobody@contoso.com"),
                };
                foreach (Action read in reads)
                {
                    UcwaException e = Assert.Throws<UcwaException>(read, "an unknown contact");
                    Assert.Equal(UcwaStatus.Server, e.Status, "status");
                    Assert.Equal(404, e.HttpStatus, "HTTP status");
                    Assert.Equal("NotFound", e.Code, "code");
                    Assert.Equal("ResourceNotFound", e.Subcode, "subcode");
                }
                List<LogEntry> log = Alices(sim);
                Assert.Equal(3, log.Count, "one GET each");
                Assert.True(log.All(e => e.Status == 404 && e.Path.EndsWith("/people/nobody@contoso.com", StringComparison.Ordinal)), "the 404s");

                sim.SetPresenceElsewhere(Bob, "DoNotDisturb", null);
                sim.ClearLog();
                IDictionary<string, Availability> got = client.GetContactsPresence(new[] { "nobody@contoso.com", Bob });
                Assert.Equal(Availability.Unknown, got["nobody@contoso.com"], "unknown contact in bulk");
                Assert.Equal(Availability.DoNotDisturb, got[Bob], "bob in bulk");
                log = Alices(sim);
                Assert.Equal(2, log.Count(e => e.Method == "POST" && e.Route == "batch"), "a look-up batch and a presence batch");
                Assert.Equal(2, log.Count, "nothing else");
            }
        }

        [Test]
        private static void a_bulk_read_of_200_contacts_takes_as_few_batches_as_the_part_limit_allows()
        {
            string[] users = Enumerable.Range(0, 200).Select(i => "user" + i.ToString("D3") + "@contoso.com").ToArray();
            var args = new List<string> { "--user", Alice + ":" + AlicePassword };
            foreach (string u in users)
            {
                args.Add("--user");
                args.Add(u + ":pw");
            }
            using (var sim = new Sim(args.ToArray()))
            using (var client = SignedIn(sim))
            {
                for (int i = 0; i < users.Length; i += 2)
                {
                    sim.SetPresenceElsewhere(users[i], "Busy", null);
                }
                sim.ClearLog();
                IDictionary<string, Availability> got = client.GetContactsPresence(users);
                for (int i = 0; i < users.Length; i++)
                {
                    Assert.Equal(i % 2 == 0 ? Availability.Busy : Availability.Offline, got[users[i]], users[i]);
                }
                int batches = (users.Length + BatchParts - 1) / BatchParts;
                List<LogEntry> log = Alices(sim);
                Assert.Equal(2 * batches, log.Count, "look-ups, then presence reads");
                Assert.True(log.All(e => e.Method == "POST" && e.Route == "batch" && e.Status == 200), "only batches");

                sim.SetPresenceElsewhere(users[1], "Away", null);
                sim.ClearLog();
                got = client.GetContactsPresence(users);
                Assert.Equal(Availability.Away, got[users[1]], "a later change");
                Assert.Equal(batches, Alices(sim).Count, "the contacts' links are kept");
            }
        }

        [Test]
        private static void contacts_that_are_not_sip_addresses_are_refused_before_any_request()
        {
            using (var sim = new Sim())
            using (var client = SignedIn(sim))
            {
                sim.ClearLog();
                foreach (string bad in new[] { "", "bob", "bob@contoso.com/presence", "bo b@contoso.com" })
                {
                    UcwaException e = Assert.Throws<UcwaException>(() => client.GetContactPresence(bad), "'" + bad + "'");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "single '" + bad + "'");
                    e = Assert.Throws<UcwaException>(() => client.GetContactsPresence(new[] { Bob, bad }), "bulk '" + bad + "'");
                    Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "bulk '" + bad + "'");
                }
                UcwaException tooMany = Assert.Throws<UcwaException>(() => client.GetContactsPresence(Enumerable.Repeat(Bob, 1001)), "1001 contacts");
                Assert.Equal(UcwaStatus.InvalidArgument, tooMany.Status, "1001 contacts");
                UcwaException nullEntry = Assert.Throws<UcwaException>(() => client.GetContactsPresence(new string[] { null }), "a null entry");
                Assert.Equal(UcwaStatus.InvalidArgument, nullEntry.Status, "a null entry");
                Assert.Throws<ArgumentNullException>(() => client.GetContactsPresence(null), "null list");
                Assert.Equal(0, client.GetContactsPresence(new string[0]).Count, "an empty list");
                Assert.Equal(0, Alices(sim).Count, "nothing was sent");
            }
        }
    }
}
