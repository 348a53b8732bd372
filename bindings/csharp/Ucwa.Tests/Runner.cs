// Ucwa.Tests/Runner.cs: a small test runner (no NUnit on this machine): finds every static
// method marked [Test], runs each one, prints "PASS name (ms)" or "FAIL name: why", and ends
// with the exact line "N passed, M failed". Exit code 1 when anything failed or nothing ran.
// Arguments are optional name filters (substring match) to run a subset; the one argument
// --library-probe is LibraryTests' child-process mode.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;

namespace Ucwa.Tests
{
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class TestAttribute : Attribute { }

    internal sealed class AssertionException : Exception
    {
        public AssertionException(string message) : base(message) { }
    }

    internal static class Assert
    {
        public static void True(bool condition, string what)
        {
            if (!condition)
            {
                throw new AssertionException(what);
            }
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new AssertionException(what + ": expected <" + expected + "> but got <" + actual + ">");
            }
        }

        public static TException Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (TException e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionException(what + ": expected " + typeof(TException).Name + " but got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(TException).Name + " but nothing was thrown");
        }
    }

    internal static class Runner
    {
        public static int Main(string[] args)
        {
            if (args.Length == 1 && args[0] == LibraryTests.ProbeArgument)
            {
                return LibraryTests.Probe();
            }
            List<MethodInfo> tests = typeof(Runner).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                .Where(m => args.Length == 0 || args.Any(a => m.Name.IndexOf(a, StringComparison.OrdinalIgnoreCase) >= 0))
                .OrderBy(m => m.DeclaringType.Name).ThenBy(m => m.MetadataToken)
                .ToList();
            int passed = 0, failed = 0;
            var total = Stopwatch.StartNew();
            foreach (MethodInfo test in tests)
            {
                string name = test.DeclaringType.Name + "." + test.Name;
                var sw = Stopwatch.StartNew();
                try
                {
                    test.Invoke(null, null);
                    passed++;
                    Console.WriteLine("PASS " + name + " (" + sw.ElapsedMilliseconds + " ms)");
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Exception inner = e.InnerException ?? e;
                    Console.WriteLine("FAIL " + name + " (" + sw.ElapsedMilliseconds + " ms): " + inner.GetType().Name + ": " + inner.Message);
                    if (!(inner is AssertionException))
                    {
                        Console.WriteLine(inner.StackTrace);
                    }
                }
                Console.Out.Flush();
            }
            Console.WriteLine("ran " + tests.Count + " tests in " + total.Elapsed.TotalSeconds.ToString("0.0") + " s");
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed > 0 || passed + failed == 0 ? 1 : 0;
        }
    }
}
