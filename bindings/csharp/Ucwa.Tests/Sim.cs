// Ucwa.Tests/Sim.cs: the ucwa-sim fixture. Each test starts its own simulator on 127.0.0.1:0,
// reads the discovery URL from its first stdout line, talks to its /_sim/ control API over
// HttpWebRequest, and kills it on Dispose, so tests share nothing.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Text;
using System.Threading;

namespace Ucwa.Tests
{
    /// <summary>One request the simulator logged.</summary>
    internal sealed class LogEntry
    {
        public long Seq;
        public string Method;
        public string Path;
        public string Route;
        public int Status;
        public bool Authorization;
        public string User;
        public string Body;

        public override string ToString()
        {
            return Seq + " " + Method + " " + Route + " " + Path + " -> " + Status + (Body == null ? "" : " " + Body);
        }
    }

    internal sealed class Sim : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder stderr = new StringBuilder();

        public string Url { get; private set; }

        /// <summary>The origin of the simulator, without the trailing slash, e.g. http://127.0.0.1:41234.</summary>
        public string Origin { get; private set; }

        public Sim(params string[] extraArgs)
        {
            string path = FindSim();
            var args = new List<string> { "--listen", "127.0.0.1:0", "--event-hold-s", "0" };
            args.AddRange(extraArgs);
            var psi = new ProcessStartInfo(path, string.Join(" ", args))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = false,
            };
            process = Process.Start(psi);
            string first = null;
            var gotFirst = new ManualResetEvent(false);
            // Read stdout and stderr on threads: a full pipe would block the simulator.
            var outThread = new Thread(() =>
            {
                first = process.StandardOutput.ReadLine();
                gotFirst.Set();
                while (process.StandardOutput.ReadLine() != null) { }
            }) { IsBackground = true };
            outThread.Start();
            var errThread = new Thread(() =>
            {
                string line;
                while ((line = process.StandardError.ReadLine()) != null)
                {
                    lock (stderr)
                    {
                        if (stderr.Length < 64 * 1024)
                        {
                            stderr.AppendLine(line);
                        }
                    }
                }
            }) { IsBackground = true };
            errThread.Start();
            if (!gotFirst.WaitOne(TimeSpan.FromSeconds(20)) || first == null || !first.StartsWith("http"))
            {
                Kill();
                throw new InvalidOperationException("ucwa-sim (" + path + ") printed no URL; first line: " + (first ?? "(none)") + "; stderr: " + Stderr);
            }
            Url = first.Trim();
            var uri = new Uri(Url);
            Origin = uri.Scheme + "://" + uri.Authority;
        }

        public string Stderr
        {
            get { lock (stderr) { return stderr.ToString(); } }
        }

        public static string FindSim()
        {
            string env = Environment.GetEnvironmentVariable("UCWA_SIM");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            foreach (string start in new[] { Directory.GetCurrentDirectory(), AppDomain.CurrentDomain.BaseDirectory })
            {
                var dir = new DirectoryInfo(start);
                while (dir != null)
                {
                    string candidate = Path.Combine(Path.Combine(Path.Combine(dir.FullName, "target"), "debug"), "ucwa-sim");
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                    dir = dir.Parent;
                }
            }
            throw new FileNotFoundException("ucwa-sim not found: set UCWA_SIM or run `cargo build -p ucwa-sim` in the workspace");
        }

        // ---- control API ----

        public string Request(string method, string path, string jsonBody)
        {
            var req = (HttpWebRequest)WebRequest.Create(Origin + path);
            req.Method = method;
            req.Timeout = 10000;
            req.Proxy = null; // loopback only: never route control calls through an environment proxy
            // A fresh connection per control call: Mono does not retry a request body written to
            // a pooled connection the simulator has meanwhile closed ("Operation aborted").
            req.KeepAlive = false;
            if (jsonBody != null)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(jsonBody);
                req.ContentType = "application/json";
                req.ContentLength = bytes.Length;
                using (Stream s = req.GetRequestStream())
                {
                    s.Write(bytes, 0, bytes.Length);
                }
            }
            else if (method == "POST")
            {
                req.ContentLength = 0;
            }
            try
            {
                using (var resp = (HttpWebResponse)req.GetResponse())
                using (var reader = new StreamReader(resp.GetResponseStream(), Encoding.UTF8))
                {
                    return reader.ReadToEnd();
                }
            }
            catch (WebException e)
            {
                string detail = "";
                var resp = e.Response as HttpWebResponse;
                if (resp != null)
                {
                    using (var reader = new StreamReader(resp.GetResponseStream(), Encoding.UTF8))
                    {
                        detail = " " + (int)resp.StatusCode + " " + reader.ReadToEnd();
                    }
                }
                throw new InvalidOperationException("sim control " + method + " " + path + " failed:" + detail + " " + e.Message, e);
            }
        }

        public List<LogEntry> Log()
        {
            var entries = new List<LogEntry>();
            foreach (object o in (List<object>)Json.Parse(Request("GET", "/_sim/log", null)))
            {
                var d = (Dictionary<string, object>)o;
                entries.Add(new LogEntry
                {
                    Seq = (long)(double)d["seq"],
                    Method = (string)d["method"],
                    Path = (string)d["path"],
                    Route = (string)d["route"],
                    Status = (int)(double)d["status"],
                    Authorization = d.ContainsKey("authorization") && d["authorization"] is bool && (bool)d["authorization"],
                    User = d.ContainsKey("user") ? d["user"] as string : null,
                    Body = d.ContainsKey("body") ? d["body"] as string : null,
                });
            }
            entries.Sort((a, b) => a.Seq.CompareTo(b.Seq));
            return entries;
        }

        public void ClearLog()
        {
            Request("DELETE", "/_sim/log", null);
        }

        public Dictionary<string, object> User(string name)
        {
            return (Dictionary<string, object>)Json.Parse(Request("GET", "/_sim/users/" + Uri.EscapeDataString(name), null));
        }

        public List<object> Applications(string name)
        {
            return (List<object>)User(name)["applications"];
        }

        public void SetPresenceElsewhere(string name, string availability, string activity)
        {
            Request("POST", "/_sim/users/" + Uri.EscapeDataString(name) + "/presence",
                "{\"availability\":" + Json.Quote(availability) + ",\"activity\":" + Json.Quote(activity) + "}");
        }

        public void AddFault(string faultJson)
        {
            Request("POST", "/_sim/faults", faultJson);
        }

        public void Dispose()
        {
            Kill();
        }

        private void Kill()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
    }
}
