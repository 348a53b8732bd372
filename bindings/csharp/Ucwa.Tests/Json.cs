// Ucwa.Tests/Json.cs: a small JSON reader and writer for talking to ucwa-sim's /_sim/ control
// API. Mono's Debian packages used here ship no JSON library (no System.Text.Json, no
// System.Runtime.Serialization), so the tests carry their own. Values become Dictionary<string,
// object>, List<object>, string, double, bool or null.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Ucwa.Tests
{
    internal static class Json
    {
        public static object Parse(string text)
        {
            int i = 0;
            object value = ParseValue(text, ref i);
            SkipWhite(text, ref i);
            if (i != text.Length)
            {
                throw new FormatException("trailing text after JSON value at " + i + ": " + text);
            }
            return value;
        }

        public static string Quote(string s)
        {
            if (s == null)
            {
                return "null";
            }
            var sb = new StringBuilder("\"");
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20)
                        {
                            sb.Append("\\u").Append(((int)c).ToString("x4"));
                        }
                        else
                        {
                            sb.Append(c);
                        }
                        break;
                }
            }
            return sb.Append('"').ToString();
        }

        private static void SkipWhite(string t, ref int i)
        {
            while (i < t.Length && char.IsWhiteSpace(t[i]))
            {
                i++;
            }
        }

        private static object ParseValue(string t, ref int i)
        {
            SkipWhite(t, ref i);
            if (i >= t.Length)
            {
                throw new FormatException("unexpected end of JSON");
            }
            char c = t[i];
            if (c == '{')
            {
                var obj = new Dictionary<string, object>();
                i++;
                SkipWhite(t, ref i);
                if (t[i] == '}')
                {
                    i++;
                    return obj;
                }
                while (true)
                {
                    SkipWhite(t, ref i);
                    string key = ParseString(t, ref i);
                    SkipWhite(t, ref i);
                    Expect(t, ref i, ':');
                    obj[key] = ParseValue(t, ref i);
                    SkipWhite(t, ref i);
                    if (t[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    Expect(t, ref i, '}');
                    return obj;
                }
            }
            if (c == '[')
            {
                var list = new List<object>();
                i++;
                SkipWhite(t, ref i);
                if (t[i] == ']')
                {
                    i++;
                    return list;
                }
                while (true)
                {
                    list.Add(ParseValue(t, ref i));
                    SkipWhite(t, ref i);
                    if (t[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    Expect(t, ref i, ']');
                    return list;
                }
            }
            if (c == '"')
            {
                return ParseString(t, ref i);
            }
            if (string.CompareOrdinal(t, i, "true", 0, 4) == 0)
            {
                i += 4;
                return true;
            }
            if (string.CompareOrdinal(t, i, "false", 0, 5) == 0)
            {
                i += 5;
                return false;
            }
            if (string.CompareOrdinal(t, i, "null", 0, 4) == 0)
            {
                i += 4;
                return null;
            }
            int start = i;
            while (i < t.Length && "+-0123456789.eE".IndexOf(t[i]) >= 0)
            {
                i++;
            }
            if (start == i)
            {
                throw new FormatException("unexpected character '" + c + "' at " + i);
            }
            return double.Parse(t.Substring(start, i - start), CultureInfo.InvariantCulture);
        }

        private static void Expect(string t, ref int i, char c)
        {
            if (i >= t.Length || t[i] != c)
            {
                throw new FormatException("expected '" + c + "' at " + i);
            }
            i++;
        }

        private static string ParseString(string t, ref int i)
        {
            Expect(t, ref i, '"');
            var sb = new StringBuilder();
            while (t[i] != '"')
            {
                char c = t[i++];
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                char e = t[i++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u':
                        sb.Append((char)int.Parse(t.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default: sb.Append(e); break;
                }
            }
            i++;
            return sb.ToString();
        }
    }
}
