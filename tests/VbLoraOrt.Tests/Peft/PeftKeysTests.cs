using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Tests.Peft;

/// <summary>PEFT's state-dict keys after <c>get_peft_model_state_dict</c> removes <c>.default</c> (see <c>Fixtures/README.md</c>).</summary>
[TestClass]
public sealed class PeftKeysTests
{
    const string Query = "bert.encoder.layer.0.attention.self.query";

    [TestMethod]
    public void ModuleKeys_FollowPeftStateDict()
    {
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", PeftKeys.LoraA(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight", PeftKeys.LoraB(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vblora_logits_A", PeftKeys.LogitsA(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vblora_logits_B_topk_indices", PeftKeys.TopKIndices(PeftKeys.LogitsB(Query)));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vblora_logits_A_topk_weights", PeftKeys.TopKWeights(PeftKeys.LogitsA(Query)));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vera_lambda_b", PeftKeys.VeraLambdaB(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vera_lambda_d", PeftKeys.VeraLambdaD(Query));
    }

    [TestMethod]
    public void SharedAndHeadKeys_FollowPeftStateDict()
    {
        Assert.AreEqual("base_model.vblora_vector_bank", PeftKeys.VectorBank);
        Assert.AreEqual("base_model.vera_A", PeftKeys.VeraA);
        Assert.AreEqual("base_model.vera_B", PeftKeys.VeraB);
        Assert.AreEqual("base_model.unilora_theta_d", PeftKeys.UniLoraTheta);
        Assert.AreEqual("base_model.model.classifier.weight", PeftKeys.ModuleToSave("classifier", "weight"));
        Assert.AreEqual("base_model.model.classifier.bias", PeftKeys.ModuleToSave("classifier", "bias"));
    }

    [TestMethod]
    [DataRow(2L, "U8")]
    [DataRow(255L, "U8")]
    [DataRow(256L, "I16")]      // PEFT's rule is strict: 256 vectors are saved as int16
    [DataRow(32767L, "I16")]
    [DataRow(32768L, "I32")]
    [DataRow(2147483647L, "I32")]
    [DataRow(2147483648L, "I64")]
    public void TopKIndexDType_FollowsPeftThresholds(long numVectors, string dtype)
    {
        Assert.AreEqual(dtype, PeftKeys.TopKIndexDType(numVectors));
    }
}
