// Ucwa.Tests/AbiTests.cs: the binding's declarations checked against include/ucwa.h, as
// bindings/python/tests/test_abi.py does for Python: every header function has exactly one
// P/Invoke declaration in NativeMethods with the marshalled types its C types call for (and no
// declaration names a function the header lacks), and every C# enum has exactly the header's
// members and values. The header's path comes from UCWA_HEADER (run-tests.sh sets it).

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Ucwa.Tests
{
    internal static class AbiTests
    {
        private static string HeaderText()
        {
            string path = Environment.GetEnvironmentVariable("UCWA_HEADER");
            Assert.True(!string.IsNullOrEmpty(path) && File.Exists(path), "UCWA_HEADER names the header: " + path);
            string text = File.ReadAllText(path);
            // Comments and preprocessor lines carry no declarations.
            text = Regex.Replace(text, @"/\*.*?\*/", " ", RegexOptions.Singleline);
            text = Regex.Replace(text, @"//[^\n]*", " ");
            text = Regex.Replace(text, @"^\s*#[^\n]*", " ", RegexOptions.Multiline);
            return text;
        }

        /// <summary>Function name to (return type, parameter types), from the header.</summary>
        private static Dictionary<string, Tuple<string, string[]>> HeaderFunctions()
        {
            var functions = new Dictionary<string, Tuple<string, string[]>>();
            string flat = Regex.Replace(HeaderText(), @"\s+", " ");
            foreach (Match m in Regex.Matches(flat, @"(?:(?<=[;{}])|^)\s*([A-Za-z_][\w \*]*?)\b(ucwa_\w+)\s*\(([^()]*)\)\s*;"))
            {
                string returns = Normalize(m.Groups[1].Value);
                string args = m.Groups[3].Value.Trim();
                string[] parameters = args == "void" || args.Length == 0
                    ? new string[0]
                    : args.Split(',').Select(p => Normalize(Regex.Replace(p.Trim(), @"\b\w+$", ""))).ToArray();
                functions[m.Groups[2].Value] = Tuple.Create(returns, parameters);
            }
            return functions;
        }

        private static string Normalize(string cType)
        {
            return Regex.Replace(cType.Replace("*", " * "), @"\s+", " ").Trim();
        }

        /// <summary>The marshalled C# type a C type must be declared as (several where the
        /// convention allows either, e.g. a handle or the raw IntPtr of a _free function).</summary>
        private static string[] Expected(string cType, bool isReturn)
        {
            switch (cType)
            {
                case "void": return new[] { "Void" };
                case "ucwa_status":
                case "uint32_t": return new[] { "UInt32" };
                case "uint16_t": return new[] { "UInt16" };
                // A single out value, or an array of `count` slots (ucwa_get_contacts_presence).
                case "uint32_t *": return new[] { "UInt32&", "UInt32[]" };
                case "uint64_t *": return new[] { "UInt64&" };
                case "size_t": return new[] { "UIntPtr" };
                case "const char *": return isReturn ? new[] { "IntPtr" } : new[] { "Byte[]" };
                case "char *": return new[] { "IntPtr" };
                case "char * *": return new[] { "IntPtr&" };
                case "const char * const *": return new[] { "IntPtr[]" };
                case "ucwa_client *":
                case "const ucwa_client *": return new[] { "ClientHandle", "IntPtr" };
                case "ucwa_client * *": return new[] { "ClientHandle&" };
                case "ucwa_error *": return isReturn ? new[] { "ErrorHandle", "IntPtr" } : new[] { "ErrorHandle", "IntPtr" };
                case "const ucwa_error *": return new[] { "ErrorHandle", "IntPtr" };
                case "ucwa_error * *": return new[] { "ErrorHandle&" };
                case "ucwa_event *":
                case "const ucwa_event *": return new[] { "EventHandle", "IntPtr" };
                case "ucwa_event * *": return new[] { "EventHandle&" };
                default: return new string[0];
            }
        }

        private static MethodInfo[] Declarations()
        {
            Type native = typeof(UcwaClient).Assembly.GetType("Ucwa.NativeMethods", true);
            return native.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
                .Where(m => m.GetCustomAttributes(typeof(DllImportAttribute), false).Length > 0)
                .ToArray();
        }

        [Test]
        private static void every_header_function_has_one_pinvoke_declaration_with_matching_types()
        {
            var header = HeaderFunctions();
            Assert.True(header.Count >= 30, "the header parses: " + header.Count + " functions");
            var declared = Declarations();
            foreach (MethodInfo m in declared)
            {
                var import = (DllImportAttribute)m.GetCustomAttributes(typeof(DllImportAttribute), false)[0];
                string name = import.EntryPoint ?? m.Name;
                Assert.True(header.ContainsKey(name), "NativeMethods." + m.Name + " names " + name + ", which the header does not declare");
                Assert.Equal(CallingConvention.Cdecl, import.CallingConvention, name + " calling convention");
                var c = header[name];
                string[] ret = Expected(c.Item1, true);
                Assert.True(ret.Contains(m.ReturnType.Name), name + " returns " + c.Item1 + " but is declared to return " + m.ReturnType.Name);
                ParameterInfo[] ps = m.GetParameters();
                Assert.Equal(c.Item2.Length, ps.Length, name + " parameter count");
                for (int i = 0; i < ps.Length; i++)
                {
                    string[] want = Expected(c.Item2[i], false);
                    Assert.True(want.Length > 0, name + ": no C# convention for the C type '" + c.Item2[i] + "' (extend Expected)");
                    Assert.True(want.Contains(ps[i].ParameterType.Name),
                        name + " parameter " + i + " (" + c.Item2[i] + ") is declared as " + ps[i].ParameterType.Name + ", expected " + string.Join(" or ", want));
                }
            }
            foreach (string name in header.Keys)
            {
                int n = declared.Count(m => m.Name == name);
                Assert.Equal(1, n, "P/Invoke declarations of " + name);
            }
        }

        /// <summary>Header enum name to its members (NAME = value).</summary>
        private static Dictionary<string, Dictionary<string, long>> HeaderEnums()
        {
            var enums = new Dictionary<string, Dictionary<string, long>>();
            foreach (Match m in Regex.Matches(HeaderText(), @"enum (ucwa_\w+)[^{;]*\{([^}]*)\}"))
            {
                var members = new Dictionary<string, long>();
                foreach (Match v in Regex.Matches(m.Groups[2].Value, @"(\w+)\s*=\s*(\d+)"))
                {
                    members[v.Groups[1].Value] = long.Parse(v.Groups[2].Value);
                }
                enums[m.Groups[1].Value] = members;
            }
            return enums;
        }

        /// <summary>UCWA_AVAILABILITY_DO_NOT_DISTURB with prefix UCWA_AVAILABILITY_ → DoNotDisturb.</summary>
        private static string PascalName(string cName, string[] prefixes)
        {
            string rest = prefixes.Where(p => cName.StartsWith(p, StringComparison.Ordinal))
                .Select(p => cName.Substring(p.Length)).OrderBy(r => r.Length).First();
            return string.Concat(rest.Split('_').Select(w => w.Substring(0, 1) + w.Substring(1).ToLowerInvariant()));
        }

        [Test]
        private static void every_csharp_enum_has_exactly_the_headers_members_and_values()
        {
            var header = HeaderEnums();
            var pairs = new[]
            {
                Tuple.Create("ucwa_status", typeof(UcwaStatus), new[] { "UCWA_ERROR_", "UCWA_" }),
                Tuple.Create("ucwa_availability", typeof(Availability), new[] { "UCWA_AVAILABILITY_" }),
                Tuple.Create("ucwa_event_kind", typeof(UcwaEventKind), new[] { "UCWA_EVENT_KIND_" }),
                Tuple.Create("ucwa_connection_state", typeof(ConnectionState), new[] { "UCWA_CONNECTION_STATE_" }),
                Tuple.Create("ucwa_presence_cause", typeof(PresenceCause), new[] { "UCWA_PRESENCE_CAUSE_" }),
            };
            Assert.Equal(pairs.Length, header.Count, "enums in the header (a new one needs a C# twin here)");
            foreach (var pair in pairs)
            {
                Assert.True(header.ContainsKey(pair.Item1), "the header declares " + pair.Item1);
                var members = header[pair.Item1];
                var expected = members.ToDictionary(kv => PascalName(kv.Key, pair.Item3), kv => kv.Value);
                var actual = Enum.GetNames(pair.Item2).ToDictionary(n => n, n => Convert.ToInt64(Enum.Parse(pair.Item2, n)));
                foreach (var kv in expected)
                {
                    Assert.True(actual.ContainsKey(kv.Key), pair.Item2.Name + " lacks " + kv.Key + " (" + pair.Item1 + ")");
                    Assert.Equal(kv.Value, actual[kv.Key], pair.Item2.Name + "." + kv.Key);
                }
                Assert.Equal(expected.Count, actual.Count, pair.Item2.Name + " members (extra ones: " +
                    string.Join(", ", actual.Keys.Except(expected.Keys)) + ")");
            }
        }
    }
}
