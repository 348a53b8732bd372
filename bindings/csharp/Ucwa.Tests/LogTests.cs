// Ucwa.Tests/LogTests.cs: the native library's log records in .NET: handed to an Action with
// their Microsoft.Extensions.Logging level and the client's id, never a secret or (by default)
// the user's name; a level past Trace refused; records pulled one by one.

using System;
using System.Collections.Generic;
using System.Linq;

namespace Ucwa.Tests
{
    internal static class LogTests
    {
        private const string Alice = "alice@contoso.com";
        private const string AlicePassword = "alice-password";

        [Test]
        private static void forwarded_records_reach_the_handler_with_microsoft_levels_and_no_secret()
        {
            var got = new List<UcwaLogRecord>();
            using (var sim = new Sim())
            {
                ulong id;
                UcwaLog.Forward(r => { lock (got) { got.Add(r); } }, UcwaLogLevel.Debug);
                try
                {
                    using (var client = new UcwaClient(sim.Url))
                    {
                        id = client.LogId;
                        client.SignIn(Alice, AlicePassword);
                        client.SignOut();
                    }
                }
                finally
                {
                    UcwaLog.StopForwarding();
                }
                List<UcwaLogRecord> mine;
                lock (got) { mine = got.Where(r => r.Client == id).ToList(); }
                string text = string.Join("\n", mine.Select(r => r.MicrosoftLogLevelName + " " + r));
                Assert.True(id != 0, "the client has an id");
                Assert.True(mine.Any(r => r.MicrosoftLogLevel == 1 && r.Target == "ucwa::transport::logged" && r.Message.StartsWith("POST ")),
                    "exchanges at Debug (1):\n" + text);
                Assert.True(mine.Any(r => r.MicrosoftLogLevel == 2 && r.MicrosoftLogLevelName == "Information" && r.Message.StartsWith("signed in")),
                    "sign-in at Information (2):\n" + text);
                Assert.True(!text.Contains(AlicePassword) && !text.Contains("AAEB") && !text.ToLowerInvariant().Contains("alice"),
                    "no secret, no name:\n" + text);
                int exchanges = mine.Count(r => r.Target == "ucwa::transport::logged");
                int seen = sim.Log().Count(e => e.Route != "events");
                Assert.True(exchanges >= seen, exchanges + " exchange records for " + seen + " requests the simulator saw:\n" + text);
                Assert.True(mine.All(r => r.Time > DateTimeOffset.UtcNow.AddMinutes(-5)), "times are now");
            }
        }

        [Test]
        private static void a_level_past_trace_is_refused_and_records_can_be_pulled()
        {
            var e = Assert.Throws<UcwaException>(() => UcwaLog.SetLevel((UcwaLogLevel)6), "level 6");
            Assert.Equal(UcwaStatus.InvalidArgument, e.Status, "status");
            using (var sim = new Sim())
            {
                UcwaLog.SetLevel(UcwaLogLevel.Info);
                ulong id;
                try
                {
                    using (var client = new UcwaClient(sim.Url))
                    {
                        id = client.LogId;
                        client.SignIn(Alice, AlicePassword);
                    }
                }
                finally
                {
                    UcwaLog.SetLevel(UcwaLogLevel.Off);
                }
                var pulled = new List<UcwaLogRecord>();
                UcwaLogRecord r;
                while ((r = UcwaLog.Next(TimeSpan.Zero)) != null)
                {
                    pulled.Add(r);
                }
                Assert.True(pulled.Any(x => x.Client == id && x.Message.StartsWith("sign-in as ~")),
                    "the sign-in record, the user pseudonymized: " + string.Join("\n", pulled));
                Assert.True(pulled.All(x => x.Level <= UcwaLogLevel.Info), "nothing over Info");
                Assert.True(sim.Log().Any(x => x.Route == "applications"), "the simulator saw the sign-in");
            }
        }
    }
}
