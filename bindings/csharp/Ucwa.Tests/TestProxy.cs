// Ucwa.Tests/TestProxy.cs: a small HTTP proxy for ProxyTests on 127.0.0.1:0. It handles
// absolute-form requests (GET http://127.0.0.1:PORT/path HTTP/1.1) and CONNECT tunnels
// (CONNECT 127.0.0.1:PORT HTTP/1.1, answered 200), optionally behind Basic Proxy-Authorization
// (407 otherwise), by connecting to that loopback host:port and piping bytes both ways; it
// records the first request line of every connection and what it answered. It reaches literal
// loopback addresses only and refuses anything else (502), so no traffic leaves the machine.

using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Ucwa.Tests
{
    /// <summary>What the proxy saw at the start of one client connection.</summary>
    internal sealed class ProxyEntry
    {
        /// <summary>The first request line, e.g. "GET http://127.0.0.1:41234/ HTTP/1.1".</summary>
        public string Line;
        /// <summary>Whether the request carried Proxy-Authorization.</summary>
        public bool Credentials;
        /// <summary>The status the proxy answered itself (200 to a CONNECT it tunnelled, 407, 502),
        /// or 0 when it forwarded an absolute-form request.</summary>
        public int Answered;

        public override string ToString()
        {
            return Line + (Credentials ? " (with credentials)" : "") + (Answered == 0 ? " -> forwarded" : " -> " + Answered);
        }
    }

    internal sealed class TestProxy : IDisposable
    {
        private readonly TcpListener listener;
        private readonly string expected;
        private readonly List<ProxyEntry> entries = new List<ProxyEntry>();
        private readonly List<Socket> sockets = new List<Socket>();

        public int Port { get; private set; }

        /// <summary>Starts the proxy; with a user and password, only requests carrying them get through.</summary>
        public TestProxy(string user = null, string password = null)
        {
            if (user != null)
            {
                expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));
            }
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            new Thread(Accept) { IsBackground = true }.Start();
        }

        /// <summary>http://127.0.0.1:PORT, with user:password@ when given.</summary>
        public string Url(string user = null, string password = null)
        {
            return "http://" + (user == null ? "" : user + ":" + password + "@") + "127.0.0.1:" + Port;
        }

        public List<ProxyEntry> Entries()
        {
            lock (entries)
            {
                return entries.ToList();
            }
        }

        public void Dispose()
        {
            listener.Stop();
            lock (sockets)
            {
                foreach (Socket s in sockets)
                {
                    try { s.Close(); } catch (ObjectDisposedException) { }
                }
            }
        }

        private Socket Track(Socket s)
        {
            lock (sockets)
            {
                sockets.Add(s);
            }
            return s;
        }

        private void Accept()
        {
            while (true)
            {
                Socket conn;
                try
                {
                    conn = Track(listener.AcceptSocket());
                }
                catch (Exception e) when (e is SocketException || e is ObjectDisposedException || e is InvalidOperationException)
                {
                    return; // stopped
                }
                new Thread(() => Serve(conn)) { IsBackground = true }.Start();
            }
        }

        private void Serve(Socket client)
        {
            try
            {
                ServeOne(client);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                client.Close();
            }
        }

        private void ServeOne(Socket client)
        {
            var data = new List<byte>();
            var buf = new byte[16 * 1024];
            int headEnd;
            while ((headEnd = HeadEnd(data)) < 0)
            {
                int n = data.Count < 64 * 1024 ? client.Receive(buf) : 0;
                if (n == 0)
                {
                    client.Close();
                    return;
                }
                data.AddRange(buf.Take(n));
            }
            string[] lines = Encoding.ASCII.GetString(data.Take(headEnd).ToArray()).Split(new[] { "\r\n" }, StringSplitOptions.None);
            byte[] rest = data.Skip(headEnd + 4).ToArray();
            string auth = lines.Skip(1)
                .Where(l => l.StartsWith("proxy-authorization:", StringComparison.OrdinalIgnoreCase))
                .Select(l => l.Substring(l.IndexOf(':') + 1).Trim())
                .FirstOrDefault();
            var entry = new ProxyEntry { Line = lines[0], Credentials = auth != null };

            if (expected != null && auth != expected)
            {
                Answer(client, entry, 407, "Proxy Authentication Required", "Proxy-Authenticate: Basic realm=\"test\"\r\n");
                return;
            }
            string[] parts = lines[0].Split(' ');
            if (parts.Length == 3 && parts[0] == "CONNECT")
            {
                Tunnel(client, parts[1], entry, rest);
                return;
            }
            Uri target;
            IPAddress ip;
            if (parts.Length != 3 || !Uri.TryCreate(parts[1], UriKind.Absolute, out target) || target.Scheme != "http" ||
                !IPAddress.TryParse(target.Host, out ip) || !IPAddress.IsLoopback(ip))
            {
                Answer(client, entry, 502, "Bad Gateway", "");
                return;
            }
            Socket upstream = Track(new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            try
            {
                upstream.Connect(new IPEndPoint(ip, target.Port));
            }
            catch (SocketException)
            {
                Answer(client, entry, 502, "Bad Gateway", "");
                return;
            }
            lock (entries)
            {
                entries.Add(entry);
            }
            // The request as it came (absolute form, which servers must accept), minus the
            // proxy's own headers.
            string forwarded = string.Join("\r\n", lines.Where(l => !l.StartsWith("proxy-", StringComparison.OrdinalIgnoreCase))) + "\r\n\r\n";
            upstream.Send(Encoding.ASCII.GetBytes(forwarded));
            if (rest.Length > 0)
            {
                upstream.Send(rest);
            }
            new Thread(() => Pipe(upstream, client)) { IsBackground = true }.Start();
            Pipe(client, upstream);
        }

        /// <summary>CONNECT host:port: a loopback IP literal and a port, else 502; then 200 and
        /// bytes both ways (TLS to the server, which the proxy cannot read).</summary>
        private void Tunnel(Socket client, string authority, ProxyEntry entry, byte[] rest)
        {
            int colon = authority.LastIndexOf(':');
            string host = colon > 0 ? authority.Substring(0, colon).Trim('[', ']') : "";
            IPAddress ip;
            int port;
            if (colon <= 0 || !IPAddress.TryParse(host, out ip) || !IPAddress.IsLoopback(ip) ||
                !int.TryParse(authority.Substring(colon + 1), out port) || port <= 0 || port > 65535)
            {
                Answer(client, entry, 502, "Bad Gateway", "");
                return;
            }
            Socket upstream = Track(new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            try
            {
                upstream.Connect(new IPEndPoint(ip, port));
            }
            catch (SocketException)
            {
                Answer(client, entry, 502, "Bad Gateway", "");
                return;
            }
            entry.Answered = 200;
            lock (entries)
            {
                entries.Add(entry);
            }
            client.Send(Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection Established\r\n\r\n"));
            if (rest.Length > 0)
            {
                // A client that sent its TLS hello before the 200.
                upstream.Send(rest);
            }
            new Thread(() => Pipe(upstream, client)) { IsBackground = true }.Start();
            Pipe(client, upstream);
        }

        private void Answer(Socket client, ProxyEntry entry, int status, string reason, string extra)
        {
            entry.Answered = status;
            lock (entries)
            {
                entries.Add(entry);
            }
            try
            {
                client.Send(Encoding.ASCII.GetBytes("HTTP/1.1 " + status + " " + reason + "\r\n" + extra +
                    "Content-Length: 0\r\nConnection: close\r\n\r\n"));
            }
            finally
            {
                client.Close();
            }
        }

        private static int HeadEnd(List<byte> data)
        {
            for (int i = 0; i + 3 < data.Count; i++)
            {
                if (data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10)
                {
                    return i;
                }
            }
            return -1;
        }

        private static void Pipe(Socket from, Socket to)
        {
            var buf = new byte[16 * 1024];
            try
            {
                int n;
                while ((n = from.Receive(buf)) > 0)
                {
                    to.Send(buf, 0, n, SocketFlags.None);
                }
                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                // One side went away: the other is closed by its own pipe or by Dispose.
            }
        }
    }
}
