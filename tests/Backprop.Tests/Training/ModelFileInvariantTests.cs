using Backprop.Data;
using Backprop.Serialization;
using Backprop.Tests.Cli;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>A model file whose metadata contradicts itself is refused with the field named, before anything large is allocated.</summary>
public class ModelFileInvariantTests
{
    private static readonly Lazy<(SafeTensorsFile Binary, SafeTensorsFile Regression, SafeTensorsFile Multi)> Models = new(() =>
    {
        var dir = CliRunner.TempDir();
        var settings = new TrainSettings { Hidden = [4], Training = new TrainingOptions { Epochs = 2 } };
        SafeTensorsFile Train(string file, string target)
        {
            var run = TrainingPipeline.Run(TabularData.Load(CliRunner.DataFile(file), target), settings);
            string path = Path.Combine(dir, file + ".safetensors");
            ModelFile.Save(run.Model, path);
            return SafeTensors.Read(path);
        }
        return (Train("breast-cancer.csv", "diagnosis"), Train("diabetes.csv", "progression"), Train("iris.csv", "species"));
    });

    public static TheoryData<string, string, string, string, string> Cases => new()
    {
        // model, metadata key, new value, expected fragment, case name
        { "regression", "target_scale", "NaN", "'target_scale'", "scale NaN" },
        { "regression", "target_scale", "0", "'target_scale'", "scale 0" },
        { "regression", "target_scale", "-1", "'target_scale'", "scale -1" },
        { "regression", "target_mean", "Infinity", "'target_mean'", "mean inf" },
        { "regression", "outputs", "3", "'outputs'", "3 outputs for regression" },
        { "regression", "class_labels", "[\"a\",\"b\"]", "'class_labels'", "labels on regression" },
        { "binary", "class_labels", "[\"a\",\"b\",\"c\"]", "'class_labels'", "3 labels binary" },
        { "binary", "outputs", "3", "'outputs'", "binary on 3 outputs" },
        { "multi", "class_labels", "[\"a\",\"a\",\"b\"]", "'class_labels'", "duplicate labels" },
        { "multi", "class_labels", "[\"1\",\"1.0\",\"2\"]", "'class_labels'", "numerically equal labels" },
        { "multi", "task", "regression", "'class_labels'", "multiclass relabelled regression" },
        { "multi", "feature_names", "[\"a\",\"a\",\"b\",\"c\"]", "'feature_names'", "duplicate feature names" },
        { "multi", "feature_names", "[\"a\",\"b\"]", "'feature_names'", "too few names" },
        { "multi", "inputs", "-4", "'inputs'", "negative inputs" },
        { "multi", "inputs", "5", "'feature_names'", "inputs disagree" },
        { "multi", "hidden", "30000,30000", "30000", "huge hidden widths" },
        { "multi", "hidden", "4,x", "'hidden'", "hidden not numbers" },
        { "multi", "preprocessing", "{\"version\":1,\"missing\":\"impute\",\"unknown\":\"error\",\"columns\":[{\"name\":\"a\",\"kind\":\"numeric\",\"mean\":0,\"scale\":-1,\"fill\":0,\"missing_indicator\":false}]}", "scale is -1", "negative scale" },
        { "multi", "preprocessing", "{\"version\":1,\"missing\":\"impute\",\"unknown\":\"error\",\"columns\":[{\"name\":\"a\",\"kind\":\"numeric\",\"mean\":0,\"scale\":1,\"fill\":0,\"missing_indicator\":false}]}", "'preprocessing'", "preprocessing width" },
        { "multi", "preprocessing", "{\"version\":1,\"missing\":\"impute\",\"unknown\":\"error\",\"columns\":[{\"name\":\"c\",\"kind\":\"categorical\",\"categories\":[\"x\",\"x\"],\"fill\":\"x\",\"numeric_categories\":false}]}", "twice", "duplicate categories" },
        { "multi", "preprocessing", "not json", "'preprocessing'", "preprocessing not JSON" },
        { "multi", "dtype", "float16", "float16", "unknown dtype" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ContradictoryMetadataIsRefusedWithTheFieldNamed(string which, string key, string value, string fragment, string name)
    {
        var file = which switch { "binary" => Models.Value.Binary, "regression" => Models.Value.Regression, _ => Models.Value.Multi };
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[key] = value;
        string path = Path.Combine(CliRunner.TempDir(), "bad.safetensors");
        SafeTensors.Write(path, file.Tensors, meta);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message lacks \"{fragment}\": {e.Message}");
        Assert.True(allocated < 50_000_000, $"{name}: {allocated} bytes allocated before refusing");
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void NonFiniteWeightsAreRefused()
    {
        var file = Models.Value.Multi;
        var tensors = file.Tensors.Select(t =>
        {
            if (t.Name != "2.bias") return t;
            var v = t.ToFloatArray();
            v[1] = float.NaN;
            return new TensorEntry(t.Name, v, [.. t.Shape]);
        }).ToList();
        string path = Path.Combine(CliRunner.TempDir(), "nan.safetensors");
        SafeTensors.Write(path, tensors, file.Metadata);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.Contains("'2.bias'", e.Message);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void AnUntouchedFileLoads()
    {
        var file = Models.Value.Multi;
        string path = Path.Combine(CliRunner.TempDir(), "ok.safetensors");
        SafeTensors.Write(path, file.Tensors, file.Metadata);
        Assert.Equal(3, ModelFile.Load(path).ClassCount);
    }
}
