import { test } from "node:test";
import assert from "node:assert/strict";
import { createSign, createVerify } from "node:crypto";
import { seededRandom } from "../random.ts";
import { bytesToBigInt, SSHReader, SSHWriter, utf8 } from "../wire.ts";
import { SSHError } from "../errors.ts";
import { hex, nodeRsaKey, unhex } from "./_test_util.ts";
import { emsaPkcs1v15Encode, rsaSignPkcs1v15, rsaVerifyPkcs1v15 } from "./rsa.ts";
import { signData } from "./sign.ts";
import { verifySignature } from "./verify.ts";
import type { RsaKeyMaterial } from "./types.ts";

// A subset of Project Wycheproof's rsa_signature_2048_sha256_test.json (Apache-2.0,
// https://github.com/C2SP/wycheproof): every valid vector, the "acceptable" missing-NULL
// one (we reject it: only the exact DER encoding passes), and a few of each kind of
// malformed padding, plus the two e=3 edge cases.
const WYCHEPROOF_N =
  "a2b451a07d0aa5f96e455671513550514a8a5b462ebef717094fa1fee82224e637f9746d3f7cafd31878d80325b6ef5a1700f65903b469429e89d6eac8845097b5ab393189db92512ed8a7711a1253facd20f79c15e8247f3d3e42e46e48c98e254a2fe9765313a03eff8f17e1a029397a1fa26a8dce26f490ed81299615d9814c22da610428e09c7d9658594266f5c021d0fceca08d945a12be82de4d1ece6b4c03145b5d3495d4ed5411eb878daf05fd7afc3e09ada0f1126422f590975a1969816f48698bcbba1b4d9cae79d460d8f9f85e7975005d9bc22c4e5ac0f7c1a45d12569a62807d3b9a02e5a530e773066f453d1f5b4c2e9cf7820283f742b9d5";
const WYCHEPROOF_VECTORS = [
  {
    id: 1,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "",
    sig:
      "840f5dac53106dd1f9c57219224cf51289290c42f20466875ba8e830ac5690e541536fcc8ab03b731f82bf66d83f194e7e180b3963ec7a2f3f7904a7ce49aed47da4d4b79421eaf937d301b3e696169297b797c32c076a12be4de0b58e003c5123051a84a10c62f8dac2f42a8640008eb3c7cccd6760ff5b51b689763922582845f048fb8150e5a7a6ca2eccc7bdc85349ad5b26c52137a79fa3fe5c29ab5cd7615013219c1941b6708e9c3c23feff5febaf0c8ebca5750b54e3e6e99a3e876b396f27860b7f3ec4e9191703c6332d944f6f69751167680c79c4f6b57f1cc8755d24b6ec158ccdbacdb23107a33cb6b332516c13274d1f9dccc21dced869e486",
    valid: true,
  },
  {
    id: 2,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "0000000000000000000000000000000000000000",
    sig:
      "8a1b220cb2ab415dc760eb7f5bb10335a3cca269d7dbbf7d0962ba79f9cf7b43a5fc09c99a1584f07403473d6c189a836897a5b6f8ea9fa22d601e6ba5f7411fe27c638b81b1a22363583a80fce8c7df3e40fb51bd0e60d0a6653f79f3bcb7ec3e9dc14cfb5b31ab1735bca692d50ac03f979dda92747c6430f8045efa3513ba6e0ce3e9e35570e1c30c8ebe589b44192e1344ca83dfa576fc6fdc7bf1cd7cee875b001c8c02ce8d602769e4bd9d241c4857182a0089a8b67644e73eef105c550efa47a40874289395ac0c4e02fd4ba98e130a4c2d1b95521c6af4a002ac3bdc6e52122ae4c08cc3da1c896e059acbddec574ac0432f6103dd97273d8803c102",
    valid: true,
  },
  {
    id: 3,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "54657374",
    sig:
      "264491e844c119f14e425c03282139a558dcdaeb82a4628173cd407fd319f9076eaebc0dd87a1c22e4d17839096886d58a9d5b7f7aeb63efec56c45ac7bead4203b6886e1faa90e028ec0ae094d46bf3f97efdd19045cfbc25a1abda2432639f9876405c0d68f8edbf047c12a454f7681d5d5a2b54bd3723d193dbad4338baad753264006e2d08931c4b8bb79aa1c9cad10eb6605f87c5831f6e2b08e002f9c6f21141f5841d92727dd3e1d99c36bc560da3c9067df99fcaf818941f72588be33032bad22caf6704223bb114d575b6d02d9d222b580005d930e8f40cce9f672eebb634a20177d84351627964b83f2053d736a84ab1a005f63bd5ba943de6205c",
    valid: true,
  },
  {
    id: 4,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "1758eb94588e6fc4f50c1be1afcaa41027869f304cad513b1fb12c2f446d63cdc05c4830a7e3e630da7b2da4f7867cc173bf6420f9732277282596de41ded32e21d0cc31441174da8765f57419c7764ea758f55bc17646eb100c435d1ac0eed6fc7ba6de5f832094ee2f479979765e05ac9976788db3c241a9e32a0da864f0019a87646ba623d63f4411af5dee1be9ec488c7e3e1b231479de70b9ac5f78a17b1f4120aece45f26c07e7bb345fdfeb05e14bcaacc614672a465fc523624cb19f66f9c6c3f642b832ca44cb25176d679f0e05606c3fed022cac24c2bf960a406d48818e3eb7ed53b0446032469047dfed95fc18088c92d91d93722c47f88163a8",
    valid: true,
  },
  {
    id: 5,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "4d657373616765",
    sig:
      "513a5abde16b5e0ecb8659d3ca0845800adf75cfc4437d42fa34e7aafbbe35fc5984d3560cba938f9a622e932bb6162b7fbb6cd8c1cf8815f28c495995ac18cdbe8fabfdce29c17aa021df192ac02d080d7c5eda6bd4c99154178a9d5e1cf3ff4177106315f4e6d74c991b601069acd60b55b3bb4dbf6316c35096a487d6756181d3394944f1c742a2f4d608ce4f6abbfb72347ad7d342ae15dd6d1049fbd0ff55f4d7c43ab805f81ff1fbe9256b5c78c2de6beb787f4b6d66d290a3d4c4857368aea5f7ebaa1296020c8f9e3670441a08038bb810e853a654e44316a4e52428745123ce2714020d00e55a9eb82f7fb41c73d852a82b003670246c6ca2045fc8",
    valid: true,
  },
  {
    id: 6,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "61",
    sig:
      "38c042a00d6f27742a46f1f963a7b2e04f0eac637849631a491b8e4e58fc721c6ce620d5e705dc8e73409c3909c1c68b6bdb2b30f882cf2797e65030b38c4e7daf6fef9d1f115c890086cf54ca3e7c2b21dcbfd1250ed1d925810970f17dbf482d1784f296adee9ace6979075c1e12f5580cfb322e8737db9d127d38e1b99ed87ec49448a18a6fee650d3c27e4a2a86a3d6e3ce4fe64120be60872fa07a3f78a112715c167fb6c900698ba1afd824087a4cf733335c4a6d5120e3b29bc42f3b3d5db79973e4e321e0910a288d18cdba172d060283c4f4c6656e9175a18b756b7d06251e9060bbfcab04978853eec6032850a0e757bc0c61ad38aa4eb6bb6d907",
    valid: true,
  },
  {
    id: 7,
    flags: "none",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
    sig:
      "2ae8d95b19cbd64d0e343ff413fffb85d8e6713c06ac8a1ceba7f3924fa740f8d2b3e120fd71f22711e795cd6468c5e263b1a5ba6ac6b8fa9e23d2d6e7243f510592a61d134e68b8ead00612dbf38c5b7302abc3bf33f23e6d4816a6e3ddcea6482566e84f57464f7d56de4cef0b2256ef21874dda4c131a47292ff8ef853f93804483c8e6373d39ca3a22552e75427b812b861de6a310ff4c366f6f6604116efd9770170aa423554c4ebbd2b5c0698950e66bb5b7c5c346285d9f5c35146255736b6e818e8e77983c93b21e7f60b04a7a525598e7fd8049b181000bffc7f3753a504370f6bb70617ac8e914deb05a198a5758a459c9fcd2fce1aede48e8a852",
    valid: true,
  },
  {
    id: 8,
    flags: "MissingNull",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "095dad1fd82bcd36652a381b7f4dd656bd89b40aa58b56da4f6aa8247874b935e65d2b86752d537df7103884d39dd9ad3d65f87404526b09094c5615c6249979b0dc58d2199ae8696a5b76b4bb03eaf08c2ab6aec686c6b1b289c9b44f648bd30cb1ac6a64a73d68e59cd05e7aa1b780f4bfd7b83dfe3b884ec11821a93dc5bbb47a00eea4557b6b96b5656276001f1f295ddbbbc511a99b9a665b9c2674c8af0d812286d0be3ce74817ba2cad283757de35dfb149f2835f60cb03ff155524a57f78b148feceb84cd20b0ae22e3e48f433fbd9bfd60be8afec93165ee0310be961d3695f309d031320c830aa6ba08b5a51d943797097c57630be391bd23736cc",
    valid: false,
  },
  {
    id: 9,
    flags: "BerEncodedPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "8a0e82d4f334aca72a718b6f8f643f69c6048d619d5eba71263a5d2d3ac7a7af133b780c7595ca2c982c006e861948f543cd0210c758691f9626842c25de2843ea314ca8eff285d47e0cffa54180af416004017034962a80a5959c3d3f1bfc154a4824462a93c014f6dfe920824f414a6e30e0e5944d480b99949ec7bf64c4a7461575933b17d7d6b0178b5192392ace3ed8469e8ac1dacae51ad5d3ad73dcb213e056d04596e64d8c0703def3110c7cecc93ba8ac8059f0f3d66b89d8712c62b41d407e4b4a104f4569558b0290c213cad6d0653898b9df8f4a453ab07d13bfb7598d505abbd0c4987e4f1ac66e1a523e113e370ab7cf990f0cc63f50f4f0a4",
    valid: false,
  },
  {
    id: 10,
    flags: "BerEncodedPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "8d9c25235cdcdcc7ca2558c0be14f83afeb303f00c13106ac5affc952af527a0585cf4801104a7d019fa2e63fd0b923c061a24b8be7c3105443c8eedf4a033d3de802adfd80f872d3c505f41e3feb116f5d5f31f04df3e448bc7e7cbc2343f7dd4f4c3d2670ed3d3c66f91d626bb12a2001160a123d03b77d2a6ec53445db517147171e3ba3cd7dde902c486c74e8d8d33d4f7699791179d1df4fac78cda67da9138c18f2cc8863018e1739fb309408c62051b715096512602c5c4c7e7c394282593ec087832fd48b4f353d8046600e4152c2092632a79bf05497a13840e171047d79c23a76896235e9d5f0f56a78d3fe472fded2899e228f714690b40b66ee7",
    valid: false,
  },
  {
    id: 11,
    flags: "InvalidAsnInPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "9947c137ebf7013ea9e41f1ce93fd29022e340e6ade56c1119cd826430acf9833bbc1ed05c1899757a79d3104c9b4133ff0aef7e1cbeaafc2ada2422bdf9e29926626527f947124d5549d9f4fddb809f84923aa335d331c392a5ae5e29cb0f503e230ce7bff114206d5dfd51b812f9ed5448d9100125a8cc2324e560c69f4a492988045c97ab90a2806df900c3b95ab95bd634dd0a50edc5312eeef6463bc4b62e54261cc67e9cb9caa9a0a7550183c9e03f26bd5c8718dd77f54290b3a27a054d7d3e39e8cb45529d585ac0e507b8688219d2b8032268020b68d2284f9f743debab5cd47fb3fbd77fdfe3a9d7984b11a37cce190ac89a472578a3332b150f5d",
    valid: false,
  },
  {
    id: 12,
    flags: "InvalidAsnInPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "259cc7e43882850415f4d7f2321fde08212490f6e9929c37c6a60cf686eec1dee385fc513f5e4105f19f2d63565b2d3762080634306b4ca87f857912bc062f31de6cccae9b48213c1b661ec9874d426d74e4c23c0ca53abc8f7bfdfb9d32dc6b5559f6aec33a5b9445ec4490302af6893890f57969de00287203d8df9a511b678caee2a7d666d9fca912826216ae3c62a37f12dac1412100c966ec7c8ff347eb79566784ef86943e999d0d1aa46fc9e5b90e9b91f4d16bfc2d5b9ffd4515f1d23cd0ce9612d19c28079702e1bc96b98cd86a5708b9000a5d61777a92d7d033557492f9ab1a4aee6719dbb14e6c3b4998480a8d49013898a5418bc8c63c41c5f1",
    valid: false,
  },
  {
    id: 13,
    flags: "InvalidAsnInPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "129990973396b70468d380897ccbe6930a485460bfc199c7c8efeedf81c7fc6a98f47c0afc29546c92d3ac2d93d8b1c6909642757fa52de1375867a197dac0ee58c5b62f12182a5b4e703ca981ad344411e2dc3aa6c456dc69651cde35bfe136ca323753137b4a28571eccf8d1f0cc4cb4977238dc33827f1bf670d938f5b902e6389c10b564608b396feb0cdca57f5bc3ad6bbb2cd324d531b0c5538de37482a09ce103ef6399cdfb404021c836151c81adf6f852f9a96919e4e78ce76aec77a48bc5eb224a3fc404373e28f07a1488ce2fb3181075b852a87941bd11735b3cd6f5bc0b660031fbf7671d3bb4f8c9f653b8c36e89320f7532ac0fab23dfadb0",
    valid: false,
  },
  {
    id: 24,
    flags: "ModifiedPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "0e6eb88e130cf0d79056bdcb87f016f99edd9f35519c44bb509a38cd346d996e3d9b7b21a40fc976a935f2904a6423dc0f251d8a89c4e1424d3312b1e7e0c14f057fa3a45841dcda2bfcf107c2103c0475cbb34d4c769e98b08cbd35964aefc3a8dc4178725c16ed7da6b438107da2488af8fd5cb2c15a8849a531e1a955c40cd6c147956fc3e8a15a1082e9e9a7878efab929c50d52fd6c14cad0987f667221a0c8ab29a682de04e437b20c82e9a759291dabd22fb38e86121b71b3ab473ea0977441db6b137d01b63e328412996ccb8dc27e57c8cd6cbeb31e321160df29ea3151f34ba36846495b6e4bb766f0bcdba00062265ad7d01847e22c06a463dfeb",
    valid: false,
  },
  {
    id: 25,
    flags: "ModifiedPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "8083dde7cef1b018fab0e9aa58744a665c24dad0791dfa6e8fe3e95b320a94038926f6cbaaf19562fc53f3a69e0aca0d9780af9eb9267f19a081343294356fba81518fdb961574a7ef38625c201036ae954238b889c8eeb3677f7f9df07badd5f27ceb0ccbeaebedc41b977609f8b964f028454b4406e22e0034c3655ab499d01d1b6be0c19bfc9e4ee2e209dc033ba1a66b50ffececa532c2c806cd2ed2586325d5bbc57f42840d8df88636b488ea363bb7f3ec35d65a635befe9d96ce2cb8c4b7b0f90ae3eea677debde8c6b2f63a0bd6b694922ffcdbf8e54864f4a90202eff266678490e53923dc48d70e9fbb756536fe6196553c8492fb5ecbd0a5e66d1",
    valid: false,
  },
  {
    id: 27,
    flags: "ModifiedPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "19ba81c3e688c41625d6714da91efb9bfc95a634409325f1cfab3dba44b807fe063740fae7604a839efce051d254af50efe044bec96280a831ae8e4e93a0d0611e0a43de6aeafeb3eebbe0d6ec74e84fdfbae3ac8cadf657fa342921274be801d05e553f589e8f48d2af38b79404d965e0a4def7c0975d6d9b5351ea82451b6bc26db3fc64729325b059f45089c90f5c8792933487d4c5317b62a02b9367a99e8d5c4148faa1781ae21200f1c39be49353d0976502ff19e08f374ee685d58f14dacf613fbb3a56ae3f1bff1afc060ba36aac11e2d038272c01c430bd463fcf55b311024cd7ce10bf59c32ba3d9943f75f8f76870bf0a8dc3e786e0718df3c01b",
    valid: false,
  },
  {
    id: 215,
    flags: "WrongHash",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "16b5347808defc31a231c28edac36a3f1789d4c549e8f5c71e2fcf5d5304ba437b4c7c0eb7ffbd80f5c5b2277bf24412b39ee3e74c368517717c438bb88b80b12ad14f7295ecf8841947e5e7457e66d2f869c30d28e9ac2019d7e5eca6229812b649c8b6b4ccd4e17b254e7ab496aa5325525e7974be348dcd53c652e6315e670236bbbef2f501e246631b735c50e388ea3af8bb0030fb7fba9743eb70fc6687cfdb92d46a4537ce88dba96ef52744e22fb7257af1538e3ffc4e2d9ac9101d6f71bc2f5aab71ddcc73a6c635500fa0a9174d25ebcc85dcd7dd85a7d2e8d3138effd171176bbdf23296ba3df630ee42185720ec141ceeaed1681a6ad0c156e099",
    valid: false,
  },
  {
    id: 216,
    flags: "WrongHash",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "9492ac64c45a6ee14fa5996c865c18a0310bad275a26be5f4df7eed2f49bb3fb76b222c9f7e92d413d00fcc9cd6dbe590a48c1250ec6807ef5d231585c202934182266f9bf931be91bafa1ea47d0d6dfbd39b5516585142cb52daee704a6c36f5a216b5e42a20b8deaa3e6d8b26e97cee7ff4cbe4b72980edf50283a48034b1b0deb36730439509424d7a5229a5dbe08005f372057b7bc6c45d7633d509d833b90be33e706b023027165e2be40a165240f28f7708cea38ee9fb87aeb8ffbe53637d6f652755f312038f6dfaf5db3b89df86a7031f4d92d1a1b1886fc9594b8e2c29135aab5e6a66ba428552559ab9cda9d915de834505297471145e0a64fed3d",
    valid: false,
  },
  {
    id: 236,
    flags: "NoHash",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "891f1354e36c2b7faca0981c64f249f73940ae03da86f0a413a971031b00c2bed14489345225fea317d9d551cced9c6c6f6f7134cb6bdca1b0319d931a1d7a1e24a744eb98fcb0d3254660066f688531fde00822917d07deb9d78aa337bdc2ca3a4a050d8debb6c1283cb90e6991429887311f72b95bf3b18d1c5cd68f65f8ed934d9e516e2a8503613fc4dc2e786c36d77ea2d5dff75c26dced572298f27de39459c55c6bec73295f20cf1c6e876b345c6fbb2ff23adf52d9d4ece53877a2bd6e7cf3a4eae08b1b3ce8dc0468614e119ffb7547f1a765d9d9b5d9d8624ecf3b836dce490c8a36a6a60e689c0bdcbdf774eb60fc552bc3e27fc9abeb2c905ddb",
    valid: false,
  },
  {
    id: 237,
    flags: "NoHash",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "a0bdd0081c1e7680839c646417b69a6fee16c94cf7746ac21ab410ef83a78a53f5b0a51afaa2e4a1ee9b44970dc3e8229712aadcd4cb2b92684e2592379b581b2aadfb3c4781f543d8b80625a07507c2ddf47937a27e05044c36c70ef091cfa1fa9f2fc552a9ee1eec07dfec597de11ca1a67ba4829a0f620828cdd424a079258dcdb39986157dd48d2ca214f10333c6c2b73593c3c72c0b22a4d374899e949313523ab9f2218a03d5f06ff0dde49e8778a076e3f9938be7179ae90b4b068b04fa507a842c7966d739def7a22ed70901d5e8c79b8df7498fb684fdfcee8c49627a38608434eabc03eed78d935d34830fc3248c90d62d743fcb1f633914f7ccb5",
    valid: false,
  },
  {
    id: 238,
    flags: "InvalidPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "7553fa477296a68ef8423d82af68103581e3a1681deeb91ad5e8f167d3bbeea5de1867969a44a6501b4e447f82be28687706e2fca1862b5dd1e0fb91b146f8e9c4a0a9f2f5ddf4da77bbacba56fa219a9eddd7dc234db9f75773218d1317ef5e4e52ce2eef80f870d39b59fa3c1bf28f67e4df9ba4e1d12d198904a0cda309b3cf2abe2d765fe366bd75652661ec830772102aeb5adf84680457fcb56a8d271604a24090a1f301b00ed67332a721b40e873c8dd3ce9206712ecf39e475a007d59c9cba314f7dcdd75b094da28789893da64628c8ff0d5c892b7e39d5c7655ef911d0dc39d7af59a55e5ada631b1cf3e6353e0f4a555e4558dc4b9a3c8baac281",
    valid: false,
  },
  {
    id: 239,
    flags: "InvalidPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "04af34eeec248962a71ff3889be80c5018cf7e6e378824a5eca2fe80584fa4aa78ba70ec3e76bd07769bbe7bad19eae850d5635d3ef2d9eeb31255be6efda3d2dba7695b97ae34650ff78fd0fa687ef1b914688bcd48639fd2079129f6300228b5795c9eca2e1a3d2618c6213ebe0e17cc40199bcc2c7473761e08847f0b6e20d37baf3b1ec6357257d63abeb3bbc77f86805e9a43d243b7cb172ed5a3bbb2a9d0f5c107e5930d12ede27d5a66a9160791dfec3de2b13f9f37a12f19d0e7865955c29e5850a8482a4e8f54c8886fc2c05444c30d02d802de075290bc045234c1ca700891f7371f7d02e633989433c37b8e6afc2f7432c82f4b6e953b93210432",
    valid: false,
  },
  {
    id: 243,
    flags: "ShortPadding",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "3ca3dec31913ad3cc2f3bb5b9ebd5d1e4bf137df6e5ae55fc5220c2b6ff150c8e0fdd6e4a07dd955f67e65546550c6a9fb89b7edff36dd8dec900aa6ff41e691f42000cf1e49acef9f491edd5a3bed1fccc3a36d48c0615679e6f166d3fb957d04e5a8198dc1d6d9df9605bdb827c7d29fbe40f80ad44fcc63cf9f93a7038941065e9a000450a769c4f3daedfd5c16bd79e4b9311f4e8e75a36c7a4b6044ab219f42feff6ec4c06aac0df4ea9152b47834c344c3d7c6e9fbb234d0cbc0b4072111b55bfe4187599400ac34c1a24861ffcc556c21a7e5b93160f46c0fbd0616dfe6b244dc68693081a59047e11b80438c3517031754ef72e4ea9fa3fc86ae1bfd",
    valid: false,
  },
  {
    id: 244,
    flags: "SignatureMalleability",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "ba0d3d34d59915be6351725300fff4617210fa767b6c48522900ce2e2c8f88b3f855bc9de7609603f2f405a81d3d6c1b8ac05a79fd278bb9c6af6dc90a6323c5d77c0562cded072bb63e9ce533d9ca497479ecf7d75e6b6a4d4a86418909b86521c5d6c7d5d634352d2ed6b15b16873f26b918e31b81e9363ad0ab373e7ac982e6aa3eccaa4cb6dbc1a807b73082dfac6a5d7b2abbb0a8d3f12f3c8aac976fe66b44350a2b7a8840f53bcd1fe76d9a0bdec6c6eacfc2081b58c3e818f2e40bb8d07b360c5fce83ece59267d39141c87807fdbee5b4ed5fc86e51111a57020211a593e4d91a6dd0ebde6317ebc12f52f405415527e7df07ba8af42ecbefc41d7d",
    valid: false,
  },
  {
    id: 245,
    flags: "SignatureMalleability",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "cbaa8c11633469333a628d32e51af55ab1e1e55f0ba468446f532b1766924a05b9d0b5702493b949535330caae75d6d874b5bd24addc6515b1fc81a6c62f6ae3cd09fdbb1fa3c609600d668e2c1b711bc8509171a99ac6284e4f27cb638a7cfc46ab9054b296c0d3edbe5f7b199f977fcc3be1065bdab6d2976453a3be3e714dbd61c56fcf0472bcda6a08a05511aa0e19896adea8b76e8c9cf397f97e470cc722557c0c02dbc7595bf9a6bbed8ef1035c4808b673b5583caa82bab3f9a6cb08e8690f2d820e724e17e1799eebce40990663d9e1404a9deed8731d808dcbe4ca5ad828a1386a8f4a4745d77777bae65cdb393763d8c176151574b03f3b3b38a8",
    valid: false,
  },
  {
    id: 247,
    flags: "InvalidSignature",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig: "",
    valid: false,
  },
  {
    id: 248,
    flags: "InvalidSignature",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    valid: false,
  },
  {
    id: 255,
    flags: "WrongPrimitive",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "5e91b5dcbf02d6f19621d41a83dc8f15ea83c0edb83765ef029b0acac2e1ec8918b1d2afe1fadf11c48d27594cb9c01fed79d90e5d5a8085c438450111aa7d9fa39c2345b14fc3c2cb34128f86db5eb00bdf8dfe38d61f29a41fe31342e7aaefcb4b122eb5d63c2f5c263c8df8450e9428ffef974d535818d51dc03a7d60c8b2d16c999ae46d73ab40515fe601d9b89b1d09c6d60cd51639a97c1d211e097609ba5e8c319c6fbd21b34a634ec8fb8971c5aae21c70b847a4539cc10dc314ddd8a9629e8a0e51c66c0cb61fd1f7228c01c6769190abe9bac9a3897800050014358594e0fb20dbb458b12aa1346826cc9f7e9c5352b073d62853dafe77c848cb1f",
    valid: false,
  },
  {
    id: 256,
    flags: "WrongPrimitive",
    e: "010001",
    n: WYCHEPROOF_N,
    msg: "313233343030",
    sig:
      "57e8cc1dc00c07383d89a79b5c8e4f5bde2a2ba55a3c7201b3291c4d805b1b2eb36f8f326b542342da180abe508669bb6cc2dd54e327bc70c1e317ba93a0fd21e7fce22a0c597c7420d1d5602ac43d9348ba3eba561f250e301ab955b0dc33e4abde32946b9b3e86c8bf07a44646ca595960bb988fef04b2824967e9da8b0264f1da0659373935313a574b5380f0b54ce1bc0dde423bd3a54f6ae5fafa772a55c1c44eb6edffecf13e6e5e1edaf87a79e338577304141fbc44f0e9eeb286f553f879addd6e12e436fa3af51ad53a72f2679f0ed102d504ee08706fe111eaee49d880d1a0b91924b3b79968ed0f9bff446dac199ee89b158c074927d27b864498",
    valid: false,
  },
  {
    id: 258,
    flags: "SmallSignature,SmallPublicKey",
    e: "03",
    n: "90a5d7aba2c8dc828e616fc1fc45c7c52130c8589dcbe2913da187572f6c23217b89a5186b6f90cbe053abfb0885a91f141dbe106ce6ad303904a5941df26ced10478cb56a7bd6cf1313c4966d9cf7c4509d9dc63566aa323e110af219f3398c04e79bb486de8703793473136f5c9051af24bd2c0208ea1bf9321a3e8f24af00aaca1216842eab248d58cf46ac786c49fd3ca8557e9b53993a4b9718cdc5c474bf1cfe58c07ad97b2c5acb7d86accc0fc7bed147adb2e77b8697d80150948117714b806ff76f9d88147d84e93987b724bf4870429e85a7a7b51486a78d8a88f1688f60e215d43d06221e2b993b5c12a607b80e9e0122472b29945f76b55737c1",
    msg: "33363730",
    sig:
      "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000989e7ff72e67e680bd21d5f966e4ad8a48c3592dbacc4a2f035b4ef4d17a2f25f8a9fef7e78eb99d76d68629ed02d67c43c4b7ec8c3badc32e3d0a524c326537739b0fde156723b27c23ae2b09895e470c64d700f5c",
    valid: true,
  },
  {
    id: 259,
    flags: "EdgeCaseSignature,SmallPublicKey",
    e: "03",
    n: "92bf17cdbffb42fa9957ce37826bb451708e7cdec8752b809c81a8d16fe5fe4dab6a9db6d11dbb12086645db7546642b322e8331dd7f29eff68bf40b24f80884f5152b1fda9b9f7ae2fce2721cdee0fc48f85a6e8e64f767ed9727fd2dc597967e276a5e2e768528afdd9df4b6ddda4c174300e4da3c19a3c32299e1e7857934c14dd6203d8c2671289bc392711597155364a59046b2b9f1905fe717ca7efebb4c1969b804118effa240c11ebf97cd68c2aa19c787b3be21e68c0e397c7f04c6ef98950e27e0e19a40da92a3ea10800fe9252b77026d14c2fa1eb4ac102491e5773279f07d856d446f45169b09bf60b8a2695f5e4864eaaf9590aec8c7c2f86d",
    msg: "32353934",
    sig:
      "92bf17cdbffb42fa9957ce37826bb451708e7cdec8752b809c81a8d16fe5fe4dab6a9db6d11dbb12086645db7546642b322e8331dd7f29eff68bf40b24f80884f5152b1fda9b9f7ae2fce2721cdee0fc48f85a6e8e64f767ed9727fd2dc597967e276a5e2e768528afdd9df4b6ddda4c174300e4da3c19a3c32299e1e7857934c14dd6203d8c2671289bc392711597155364a59046b2b9f1905fe717ca7efebb4c1969b804118effa240b8bf4bb1a6d0616fd5be2f081dc9ef741a9a4ae7274418b791432de470c4556463108388e8e8ed5dcebf3558e4650c2ac97c86fa682176f09b5dd8cfbf15d19c3fe4f961f4607c12cb3dfad9b6a0e59c92faa1fc8622",
    valid: true,
  },
];

const NODE_HASH = {
  "rsa-sha2-256": "sha256",
  "rsa-sha2-512": "sha512",
  "ssh-rsa": "sha1",
} as const;
const ALL_RSA = ["rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"] as const;

function sigBlob(algorithm: string, sig: Uint8Array): Uint8Array {
  return new SSHWriter().writeStringUtf8(algorithm).writeString(sig).toBytes();
}

function innerOf(blob: Uint8Array): Uint8Array {
  const r = new SSHReader(blob);
  r.readString();
  return r.readString();
}

// Generated once per test file: RSA key generation is the slow part.
const rsa2048 = nodeRsaKey(2048);
const rsa3072 = nodeRsaKey(3072);

test("rsaVerifyPkcs1v15() agrees with the Wycheproof vectors", () => {
  for (const v of WYCHEPROOF_VECTORS) {
    const ok = rsaVerifyPkcs1v15(
      bytesToBigInt(unhex(v.n)),
      bytesToBigInt(unhex(v.e)),
      "sha256",
      unhex(v.msg),
      unhex(v.sig),
    );
    assert.equal(ok, v.valid, `tcId ${v.id} (${v.flags})`);
  }
});

test("rsaVerifyPkcs1v15() left-pads a signature shorter than the modulus", () => {
  const v = WYCHEPROOF_VECTORS.find((x) => x.id === 258)!;
  const full = unhex(v.sig);
  let i = 0;
  while (full[i] === 0) i++;
  assert.ok(i > 0);
  const n = bytesToBigInt(unhex(v.n));
  const e = bytesToBigInt(unhex(v.e));
  assert.equal(rsaVerifyPkcs1v15(n, e, "sha256", unhex(v.msg), full.subarray(i)), true);
});

test("rsaVerifyPkcs1v15() rejects signatures longer than the modulus, >= n, or empty", () => {
  const { material: key } = rsa2048;
  const data = utf8("x");
  const sig = rsaSignPkcs1v15(key, "sha256", data);
  const longer = new Uint8Array(sig.length + 1);
  longer.set(sig, 1);
  assert.equal(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, sig), true);
  assert.equal(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, longer), false);
  const nBytes = unhex(key.n.toString(16).padStart(512, "0"));
  assert.equal(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, nBytes), false);
  assert.equal(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, new Uint8Array(0)), false);
});

test("rsaSignPkcs1v15() matches node:crypto byte for byte (PKCS#1 v1.5 is deterministic)", () => {
  for (const { material, privateKey } of [rsa2048, rsa3072]) {
    for (const alg of ALL_RSA) {
      const data = utf8(`message for ${alg}`);
      const ours = innerOf(signData(material, alg, data, seededRandom(1)));
      const theirs = createSign(NODE_HASH[alg]).update(data).sign(privateKey);
      assert.equal(hex(ours), hex(new Uint8Array(theirs)), alg);
    }
  }
});

test("verifySignature() accepts node:crypto RSA signatures and node accepts ours", () => {
  for (const { material, publicKey, privateKey } of [rsa2048, rsa3072]) {
    const pub: RsaKeyMaterial = { type: "rsa", n: material.n, e: material.e };
    for (const alg of ALL_RSA) {
      const data = utf8(`both directions ${alg}`);
      const theirs = new Uint8Array(createSign(NODE_HASH[alg]).update(data).sign(privateKey));
      assert.equal(
        verifySignature(pub, sigBlob(alg, theirs), data, { allowedAlgorithms: ALL_RSA }),
        true,
      );
      const ours = innerOf(signData(material, alg, data));
      assert.equal(createVerify(NODE_HASH[alg]).update(data).verify(publicKey, ours), true);
    }
  }
});

test("signData() fills in missing CRT values and works from d alone", () => {
  const { n, e, d, p, q } = rsa2048.material;
  const data = utf8("crt");
  const full = signData(rsa2048.material, "rsa-sha2-512", data);
  const noCrt: RsaKeyMaterial = { type: "rsa", n, e, d: d!, p: p!, q: q! };
  const pqOnly: RsaKeyMaterial = { type: "rsa", n, e, p: p!, q: q! };
  const dOnly: RsaKeyMaterial = { type: "rsa", n, e, d: d! };
  for (const k of [noCrt, pqOnly, dOnly]) {
    assert.equal(hex(signData(k, "rsa-sha2-512", data, seededRandom(9))), hex(full));
  }
});

test("rsaSignPkcs1v15() refuses to release a signature from an inconsistent key", () => {
  const k = rsa2048.material;
  const broken: RsaKeyMaterial = { ...k, dp: k.dp! + 2n };
  assert.throws(
    () => rsaSignPkcs1v15(broken, "sha256", utf8("x")),
    (e: unknown) => e instanceof SSHError && e.code === "ERR_SIGNATURE",
  );
});

test("verifySignature() rejects tampered RSA signatures and data", () => {
  const { material } = rsa2048;
  const data = utf8("tamper");
  const blob = signData(material, "rsa-sha2-256", data);
  assert.equal(verifySignature(material, blob, data), true);
  for (const pos of [blob.length - 1, blob.length - 100, 30]) {
    const bad = blob.slice();
    bad[pos]! ^= 0x01;
    assert.equal(verifySignature(material, bad, data), false);
  }
  assert.equal(verifySignature(material, blob, utf8("tampes")), false);
  // The hash named by the blob is the one checked: relabelling fails.
  assert.equal(verifySignature(material, sigBlob("rsa-sha2-512", innerOf(blob)), data), false);
});

test("verifySignature() refuses ssh-rsa (SHA-1) unless it is allowed", () => {
  const { material } = rsa2048;
  const data = utf8("sha1");
  const blob = signData(material, "ssh-rsa", data);
  assert.equal(verifySignature(material, blob, data), false);
  assert.equal(verifySignature(material, blob, data, { allowedAlgorithms: ["ssh-rsa"] }), true);
  assert.equal(
    verifySignature(material, blob, data, { allowedAlgorithms: ["rsa-sha2-256"] }),
    false,
  );
});

test("emsaPkcs1v15Encode() builds 00 01 FF.. 00 DigestInfo H", () => {
  const em = emsaPkcs1v15Encode("sha1", utf8("abc"), 64);
  assert.equal(
    hex(em),
    "0001" + "ff".repeat(64 - 3 - 35) + "00" + "3021300906052b0e03021a05000414" +
      "a9993e364706816aba3e25717850c26c9cd0d89d",
  );
  assert.throws(() => emsaPkcs1v15Encode("sha512", utf8("abc"), 64), RangeError);
});

test("rsaSignPkcs1v15() stays correct across blinding refreshes (40 signatures with one key)", () => {
  const { material } = rsa2048;
  const key: RsaKeyMaterial = { ...material };
  const data = utf8("repeat");
  const first = rsaSignPkcs1v15(key, "sha256", data, seededRandom(3));
  for (let i = 0; i < 40; i++) {
    assert.deepEqual(rsaSignPkcs1v15(key, "sha256", data, seededRandom(3)), first);
  }
  assert.equal(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, first), true);
});

test("rsaVerifyPkcs1v15() refuses an exponent over 64 bits however the key arrived", () => {
  const n = (1n << 2047n) + 1n;
  assert.equal(
    rsaVerifyPkcs1v15(
      n,
      (1n << 2000n) + 1n,
      "sha256",
      new Uint8Array(4),
      new Uint8Array(256).fill(1),
    ),
    false,
  );
});
