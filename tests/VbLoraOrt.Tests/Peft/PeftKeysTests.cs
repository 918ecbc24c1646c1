using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Methods.Vera;
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
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", LoraNames.StoredA(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight", LoraNames.StoredB(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vblora_logits_A", VbLoraNames.StoredLogitsA(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vblora_logits_B_topk_indices", VbLoraNames.TopKIndices(VbLoraNames.StoredLogitsB(Query)));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vblora_logits_A_topk_weights", VbLoraNames.TopKWeights(VbLoraNames.StoredLogitsA(Query)));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vera_lambda_b", VeraNames.StoredLambdaB(Query));
        Assert.AreEqual("base_model.model.bert.encoder.layer.0.attention.self.query.vera_lambda_d", VeraNames.StoredLambdaD(Query));
    }

    [TestMethod]
    public void SharedAndHeadKeys_FollowPeftStateDict()
    {
        Assert.AreEqual("base_model.vblora_vector_bank", VbLoraNames.StoredVectorBank);
        Assert.AreEqual("base_model.vera_A", VeraNames.StoredA);
        Assert.AreEqual("base_model.vera_B", VeraNames.StoredB);
        Assert.AreEqual("base_model.unilora_theta_d", UniLoraNames.StoredTheta);
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
        Assert.AreEqual(dtype, VbLoraNames.PeftTopKIndexDType(numVectors));
    }
}
