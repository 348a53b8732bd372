// Ucwa.Tests/Sim.cs: the ucwa-sim fixture. Each test starts its own simulator on 127.0.0.1:0,
// reads the discovery URL from its first stdout line, talks to its /_sim/ control API (request
// log, token log, users, faults, the forward proxy's URL, log and credentials) over a loopback
// socket (with --tls, TLS accepting only a
// certificate naming the generated CA as its issuer), and kills it on Dispose, so tests share
// nothing.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;

namespace Ucwa.Tests
{
    /// <summary>One request or CONNECT tunnel the simulator's forward proxy saw.</summary>
    internal sealed class ProxyEntry
    {
        /// <summary>The client connection it came on (every tunnel is one of its own).</summary>
        public long Conn;
        /// <summary>The request line, e.g. "GET http://127.0.0.1:41234/ HTTP/1.1".</summary>
        public string Line;
        /// <summary>Whether the request carried Proxy-Authorization.</summary>
        public bool Credentials;
        /// <summary>The user name in it (never the password).</summary>
        public string User;
        /// <summary>Whether it matched the required credentials (true when none are required).</summary>
        public bool Authorized;
        /// <summary>The status the proxy answered itself (200 to a CONNECT it tunnelled, 407, 502),
        /// or 0 when it forwarded the request.</summary>
        public int Answered;

        public override string ToString()
        {
            return Line + (Credentials ? " (with credentials)" : "") + (Answered == 0 ? " -> forwarded" : " -> " + Answered);
        }
    }

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

    /// <summary>One token-endpoint request, from the simulator's token log (GET /_sim/token-log).
    /// It never holds passwords, tokens or NTLM responses.</summary>
    internal sealed class TokenLogEntry
    {
        public long Seq;
        public string Pool;
        /// <summary>The id of the TCP (or TLS) connection the request came on.</summary>
        public long Conn;
        /// <summary>The form's grant_type, or null.</summary>
        public string Grant;
        /// <summary>"NTLM" or "Negotiate" when Authorization used one of them, else null.</summary>
        public string Scheme;
        /// <summary>Whether the Negotiate token was SPNEGO (not raw NTLM).</summary>
        public bool Spnego;
        /// <summary>"challenge", "negotiate", "authenticate", or null (other grants).</summary>
        public string Leg;
        public string NtlmUser;
        public string NtlmDomain;
        /// <summary>What the endpoint decided, e.g. "granted alice@contoso.com", "refused: bad password".</summary>
        public string Outcome;
        public int Status;

        public override string ToString()
        {
            return Seq + " conn " + Conn + " " + Grant + " " + (Scheme ?? "-") + (Spnego ? " (spnego)" : "") + " " +
                (Leg ?? "-") + " user=" + (NtlmUser ?? "-") + " domain=" + (NtlmDomain ?? "-") + " -> " + Status + " " + Outcome;
        }
    }

    /// <summary>A token minted by the simulator's control API (POST /_sim/tokens).</summary>
    internal sealed class MintedToken
    {
        public string AccessToken;
        public string TokenType;
        public double ExpiresIn;
        /// <summary>The origin the token is valid on (the simulator's, without a trailing slash).</summary>
        public string Resource;
    }

    internal sealed class Sim : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder stderr = new StringBuilder();
        private readonly string ownCaDir;
        private readonly X509Certificate2 ca;

        public string Url { get; private set; }

        /// <summary>The origin of the simulator, without the trailing slash, e.g. http://127.0.0.1:41234.</summary>
        public string Origin { get; private set; }

        /// <summary>With --tls: the PEM file of the CA the simulator generated (its --ca-out; one
        /// in a directory of its own, removed on Dispose, when the test gave none). Else null.</summary>
        public string CaFile { get; private set; }

        public Sim(params string[] extraArgs)
        {
            string path = FindSim();
            var args = new List<string> { "--listen", "127.0.0.1:0", "--event-hold-s", "0" };
            args.AddRange(extraArgs);
            if (args.Contains("--tls"))
            {
                int at = args.IndexOf("--ca-out");
                if (at >= 0 && at + 1 < args.Count)
                {
                    CaFile = args[at + 1];
                }
                else
                {
                    ownCaDir = Path.Combine(Path.GetTempPath(), "ucwa-cs-sim-" + Guid.NewGuid().ToString("N"));
                    Directory.CreateDirectory(ownCaDir);
                    CaFile = Path.Combine(ownCaDir, "ca.pem");
                    args.Add("--ca-out");
                    args.Add(CaFile);
                }
            }
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
            // Read stdout and stderr on threads: a full pipe would block the simulator. The
            // readers are taken here, not through the field: Dispose may dispose the process
            // while a thread still reads, and its reader then ends with an exception, not a crash
            // of the whole run.
            StreamReader stdout = process.StandardOutput;
            StreamReader stderrReader = process.StandardError;
            var outThread = new Thread(() =>
            {
                try
                {
                    first = stdout.ReadLine();
                    gotFirst.Set();
                    while (stdout.ReadLine() != null) { }
                }
                catch (Exception e) when (e is IOException || e is ObjectDisposedException) { }
                finally { gotFirst.Set(); }
            }) { IsBackground = true };
            outThread.Start();
            var errThread = new Thread(() =>
            {
                try
                {
                    string line;
                    while ((line = stderrReader.ReadLine()) != null)
                    {
                        lock (stderr)
                        {
                            if (stderr.Length < 64 * 1024)
                            {
                                stderr.AppendLine(line);
                            }
                        }
                    }
                }
                catch (Exception e) when (e is IOException || e is ObjectDisposedException) { }
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
            if (CaFile != null)
            {
                // The simulator writes the CA before it prints its URL.
                ca = new X509Certificate2(PemToDer(File.ReadAllText(CaFile)));
            }
        }

        private static byte[] PemToDer(string pem)
        {
            const string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
            int from = pem.IndexOf(begin, StringComparison.Ordinal) + begin.Length;
            int to = pem.IndexOf(end, from, StringComparison.Ordinal);
            return Convert.FromBase64String(pem.Substring(from, to - from).Replace("\r", "").Replace("\n", ""));
        }

        /// <summary>Trusts the simulator's certificate only when it names the generated CA as its
        /// issuer. Mono cannot decode the CA's ECDSA key (so neither X509Chain nor a signature
        /// check works there); this control connection goes to a loopback process the test
        /// started, and the library's own TLS checks are what the tests prove.</summary>
        private bool TrustsSimCertificate(object sender, X509Certificate certificate, X509Chain unused, SslPolicyErrors errors)
        {
            return ca != null && certificate != null && certificate.Issuer == ca.Subject;
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

        /// <summary>One control request; returns the body of a 2xx answer, else throws.</summary>
        /// <remarks>A minimal HTTP/1.1 exchange over its own loopback connection
        /// (<c>Connection: close</c>), as the C harness does: Mono's HttpWebRequest
        /// occasionally aborted a request body write ("Operation aborted") in these tests.</remarks>
        public string Request(string method, string path, string jsonBody)
        {
            var uri = new Uri(Origin);
            byte[] body = jsonBody == null ? new byte[0] : Encoding.UTF8.GetBytes(jsonBody);
            string head = method + " " + path + " HTTP/1.1\r\nHost: " + uri.Authority +
                "\r\nConnection: close\r\nContent-Length: " + body.Length +
                (jsonBody == null ? "" : "\r\nContent-Type: application/json") + "\r\n\r\n";
            byte[] raw;
            try
            {
                using (var tcp = new System.Net.Sockets.TcpClient())
                {
                    tcp.ReceiveTimeout = 10000;
                    tcp.SendTimeout = 10000;
                    tcp.Connect(uri.Host, uri.Port);
                    using (Stream stream = OpenStream(tcp, uri.Host))
                    {
                        byte[] h = Encoding.ASCII.GetBytes(head);
                        stream.Write(h, 0, h.Length);
                        stream.Write(body, 0, body.Length);
                        var all = new MemoryStream();
                        stream.CopyTo(all);
                        raw = all.ToArray();
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is System.Net.Sockets.SocketException)
            {
                throw new InvalidOperationException("sim control " + method + " " + path + " failed: " + e.Message, e);
            }
            int split = IndexOf(raw, Encoding.ASCII.GetBytes("\r\n\r\n"), 0);
            string[] headers = split < 0 ? new string[0]
                : Encoding.ASCII.GetString(raw, 0, split).Split(new[] { "\r\n" }, StringSplitOptions.None);
            if (headers.Length == 0 || !headers[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("sim control " + method + " " + path + " failed: no HTTP answer");
            }
            int status = int.Parse(headers[0].Split(' ')[1]);
            byte[] payload = new byte[raw.Length - split - 4];
            Array.Copy(raw, split + 4, payload, 0, payload.Length);
            foreach (string line in headers)
            {
                if (line.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase) &&
                    line.IndexOf("chunked", StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    payload = Dechunk(payload);
                }
            }
            string text = Encoding.UTF8.GetString(payload);
            if (status < 200 || status > 299)
            {
                throw new InvalidOperationException("sim control " + method + " " + path + " failed: " + status + " " + text);
            }
            return text;
        }

        /// <summary>The connection's stream: plain, or TLS to the simulator when it runs --tls.</summary>
        private Stream OpenStream(System.Net.Sockets.TcpClient tcp, string host)
        {
            if (ca == null)
            {
                return tcp.GetStream();
            }
            var tls = new SslStream(tcp.GetStream(), false, TrustsSimCertificate);
            tls.AuthenticateAsClient(host);
            return tls;
        }

        private static int IndexOf(byte[] haystack, byte[] needle, int from)
        {
            for (int i = from; i + needle.Length <= haystack.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }

        /// <summary>Decodes a chunked body; chunk sizes count bytes.</summary>
        private static byte[] Dechunk(byte[] chunked)
        {
            var output = new MemoryStream();
            byte[] crlf = { 13, 10 };
            int pos = 0;
            while (pos < chunked.Length)
            {
                int eol = IndexOf(chunked, crlf, pos);
                if (eol < 0) break;
                string sizeText = Encoding.ASCII.GetString(chunked, pos, eol - pos).Split(';')[0].Trim();
                int size = Convert.ToInt32(sizeText, 16);
                if (size == 0 || eol + 2 + size > chunked.Length) break;
                output.Write(chunked, eol + 2, size);
                pos = eol + 2 + size + 2;
            }
            return output.ToArray();
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

        /// <summary>One entry per token-endpoint request, in arrival order (GET /_sim/token-log).</summary>
        public List<TokenLogEntry> TokenLog()
        {
            var entries = new List<TokenLogEntry>();
            foreach (object o in (List<object>)Json.Parse(Request("GET", "/_sim/token-log", null)))
            {
                var d = (Dictionary<string, object>)o;
                entries.Add(new TokenLogEntry
                {
                    Seq = (long)(double)d["seq"],
                    Pool = d["pool"] as string,
                    Conn = (long)(double)d["conn"],
                    Grant = d["grant"] as string,
                    Scheme = d["scheme"] as string,
                    Spnego = d["spnego"] is bool && (bool)d["spnego"],
                    Leg = d["leg"] as string,
                    NtlmUser = d["ntlm_user"] as string,
                    NtlmDomain = d["ntlm_domain"] as string,
                    Outcome = d["outcome"] as string,
                    Status = (int)(double)d["status"],
                });
            }
            entries.Sort((a, b) => a.Seq.CompareTo(b.Seq));
            return entries;
        }

        /// <summary>Empties the request log and the token log.</summary>
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

        /// <summary>A note change "from another device" of the user (null clears it).</summary>
        public void SetNoteElsewhere(string name, string message)
        {
            Request("POST", "/_sim/users/" + Uri.EscapeDataString(name) + "/note", "{\"message\":" + Json.Quote(message) + "}");
        }

        /// <summary>A location change "from another device" of the user (null clears it).</summary>
        public void SetLocationElsewhere(string name, string location)
        {
            Request("POST", "/_sim/users/" + Uri.EscapeDataString(name) + "/location", "{\"location\":" + Json.Quote(location) + "}");
        }

        /// <summary>A bearer token for <paramref name="user"/> from POST /_sim/tokens (ucwa-sim
        /// --modern-auth), as an identity provider would issue it.</summary>
        public MintedToken MintToken(string user, double lifetimeS)
        {
            var d = (Dictionary<string, object>)Json.Parse(Request("POST", "/_sim/tokens",
                "{\"user\":" + Json.Quote(user) + ",\"lifetime_s\":" + lifetimeS.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}"));
            return new MintedToken
            {
                AccessToken = (string)d["access_token"],
                TokenType = (string)d["token_type"],
                ExpiresIn = (double)d["expires_in"],
                Resource = (string)d["resource"],
            };
        }

        /// <summary>The forward proxy's URL, http://127.0.0.1:PORT/ (GET /_sim/proxy), with
        /// user:password@ when given (as is, not encoded). It reaches loopback targets only.</summary>
        public string ProxyUrl(string user = null, string password = null)
        {
            var url = (string)((Dictionary<string, object>)Json.Parse(Request("GET", "/_sim/proxy", null)))["url"];
            return user == null ? url : "http://" + user + ":" + password + "@" + url.Substring("http://".Length);
        }

        /// <summary>Every request and tunnel the proxy saw, in arrival order (GET /_sim/proxy/log).</summary>
        public List<ProxyEntry> ProxyEntries()
        {
            var entries = new List<ProxyEntry>();
            foreach (object o in (List<object>)Json.Parse(Request("GET", "/_sim/proxy/log", null)))
            {
                var d = (Dictionary<string, object>)o;
                entries.Add(new ProxyEntry
                {
                    Conn = (long)(double)d["conn"],
                    Line = d["method"] + " " + d["target"] + " " + d["version"],
                    Credentials = d["credentials"] is bool && (bool)d["credentials"],
                    User = d["user"] as string,
                    Authorized = d["authorized"] is bool && (bool)d["authorized"],
                    Answered = d["answered"] is double ? (int)(double)d["answered"] : 0,
                });
            }
            return entries;
        }

        /// <summary>From now on the proxy lets through only these Basic credentials (407
        /// otherwise); a null user requires none.</summary>
        public void ProxyRequireCredentials(string user, string password)
        {
            if (user == null)
            {
                Request("DELETE", "/_sim/proxy/credentials", null);
            }
            else
            {
                Request("PUT", "/_sim/proxy/credentials", "{\"user\":" + Json.Quote(user) + ",\"password\":" + Json.Quote(password) + "}");
            }
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
            if (ownCaDir != null)
            {
                try { Directory.Delete(ownCaDir, true); } catch (IOException) { }
            }
        }
    }
}
