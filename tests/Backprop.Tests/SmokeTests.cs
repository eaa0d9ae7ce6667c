namespace Backprop.Tests; public class SmokeTests { [Fact] public void RngIsDeterministic() => Assert.Equal(new Rng(1).NextUInt64(), new Rng(1).NextUInt64()); }
